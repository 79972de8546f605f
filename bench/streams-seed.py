#!/usr/bin/env python3
"""Seeds a migrated vidzo database with the feed benchmark's data set (issue 18):
100,000 streams of 5,000 hosts, 2,000 of them live (one per host, viewers skewed like a
real platform: a few big streams, a long tail), 20,000 scheduled, 2,000 cancelled, the
rest ended; 20 categories, 3 tags each from a small vocabulary, 30,000 follows.
  bench/streams-seed.py sqlite PATH          (writes directly with sqlite3)
  bench/streams-seed.py pg URL               (prints SQL for psql on stdout)
Deterministic (seeded), so two runs and two databases hold the same rows."""
import json, random, sys, time

STREAMS, HOSTS, LIVE, SCHED, CANCEL, CATS = 100_000, 5_000, 2_000, 20_000, 2_000, 20
WORDS = ("music guitar cooking chess gaming speedrun art painting fitness yoga coding rust travel food "
         "fashion beauty tech news science math talk podcast comedy dance piano drums study asmr pets").split()
rnd = random.Random(18)
now = int(time.time() * 1000)
base_id = 1 << 40

def rows():
    cats = [(base_id + 900_000 + i, f"bench-cat-{i}", f"Bench {i}") for i in range(CATS)]
    users = [(base_id + 1 + i, f"bench{i}", f"Bench host {i}") for i in range(HOSTS)]
    streams = []
    for i in range(STREAMS):
        sid = base_id + 1_000_000 + i
        if i < LIVE:
            host, status = users[i][0], "live"
            viewers = int(10 ** rnd.uniform(0, 4.5))
            started, ended, sched, pos = now - rnd.randint(60_000, 7_200_000), None, now - 7_200_000, viewers
        elif i < LIVE + SCHED:
            host, status, viewers = users[rnd.randrange(HOSTS)][0], "scheduled", 0
            sched = now + rnd.randint(60_000, 30 * 86_400_000)
            started, ended, pos = None, None, -sched
        elif i < LIVE + SCHED + CANCEL:
            host, status, viewers = users[rnd.randrange(HOSTS)][0], "cancelled", 0
            sched, started, ended, pos = now + 86_400_000, None, None, now - rnd.randint(0, 86_400_000)
        else:
            host, status, viewers = users[rnd.randrange(HOSTS)][0], "ended", 0
            ended = now - rnd.randint(3_600_000, 365 * 86_400_000)
            started = ended - rnd.randint(600_000, 10_800_000)
            sched, pos = started, ended
        tags = rnd.sample(WORDS, 3)
        title = f"{rnd.choice(WORDS).title()} {rnd.choice(WORDS)} session {i}"
        vis = "followers" if rnd.random() < 0.05 else "public"
        streams.append((sid, host, status, vis, title, "", cats[rnd.randrange(CATS)][0], json.dumps(tags),
                        " ".join(tags), f"{rnd.getrandbits(256):064x}", viewers, viewers, pos, sched, started, ended,
                        now - 400 * 86_400_000 + i, now))
    follows = set()
    while len(follows) < 30_000:
        a, b = rnd.randrange(HOSTS), rnd.randrange(HOSTS)
        if a != b: follows.add((users[a][0], users[b][0]))
    return cats, users, streams, sorted(follows)

SQL_S = ("INSERT INTO streams (id, host_id, status, visibility, title, description, category_id, tags, tags_text,"
         " key_hash, viewers, peak_viewers, feed_pos, scheduled_at, started_at, ended_at, created_at, updated_at)"
         " VALUES ({})")

def main():
    kind, target = sys.argv[1], sys.argv[2]
    cats, users, streams, follows = rows()
    if kind == "sqlite":
        import sqlite3
        db = sqlite3.connect(target)
        db.execute("PRAGMA synchronous=OFF")
        db.executemany("INSERT INTO categories (id, parent_id, slug, name, kind, description, position, created_at,"
                       " updated_at) VALUES (?, NULL, ?, ?, 'stream', '', 0, 0, 0)", cats)
        db.executemany("INSERT INTO users (id, handle, handle_lower, display_name, created_at, updated_at)"
                       " VALUES (?, ?, ?, ?, 0, 0)", [(u[0], u[1], u[1], u[2]) for u in users])
        db.executemany(SQL_S.format(", ".join("?" * 18)), streams)
        db.executemany("INSERT INTO follows (follower_id, followee_id, created_at) VALUES (?, ?, 0)", follows)
        db.commit()
        db.execute("ANALYZE")
        db.commit()
    else:
        w = sys.stdout.write
        w("BEGIN;\nCOPY categories (id, parent_id, slug, name, kind, description, position, created_at, updated_at) FROM stdin;\n")
        for c in cats: w(f"{c[0]}\t\\N\t{c[1]}\t{c[2]}\tstream\t\t0\t0\t0\n")
        w("\\.\nCOPY users (id, handle, handle_lower, display_name, created_at, updated_at) FROM stdin;\n")
        for u in users: w(f"{u[0]}\t{u[1]}\t{u[1]}\t{u[2]}\t0\t0\n")
        w("\\.\nCOPY streams (id, host_id, status, visibility, title, description, category_id, tags, tags_text, key_hash,"
          " viewers, peak_viewers, feed_pos, scheduled_at, started_at, ended_at, created_at, updated_at) FROM stdin;\n")
        for s in streams: w("\t".join("\\N" if v is None else str(v) for v in s) + "\n")
        w("\\.\nCOPY follows (follower_id, followee_id, created_at) FROM stdin;\n")
        for f in follows: w(f"{f[0]}\t{f[1]}\t0\n")
        w("\\.\nCOMMIT;\nANALYZE;\n")

main()
