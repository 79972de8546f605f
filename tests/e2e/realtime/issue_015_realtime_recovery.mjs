// issue 15 (item 16a): connection state recovery checks that the recovering socket owns
// the stored session (same user; a guest only a guest's; same namespace) BEFORE taking
// it. It used to take (delete) it first and compare after, so anyone who learnt a pid
// could end its owner's recovery. Needs the --bench e2e application ("/test-recovery").
import { io } from 'socket.io-client';
import { story, assert, URL_BASE, sleep, unique, newUser } from '../lib.mjs';
import { once, connected, ack } from './realtime_support.mjs';

const NSP = '/test-recovery';
const client = (auth) => io(URL_BASE + NSP, { forceNew: true, reconnection: false, transports: ['websocket'], auth });

story('a stranger presenting someone\'s recovery pid starts fresh and leaves the session to its owner', async () => {
  const [owner, other] = [await newUser('rown'), await newUser('roth')];
  const room = unique('own');
  const sender = await connected(client({ token: 'sender' }));
  const a = await connected(client({ token: owner.token }));
  try {
    await ack(sender, 'join', { room });
    await ack(a, 'join', { room });
    const got = [];
    a.on('said', (m) => got.push(m.msg));
    const first = once(a, 'said');
    sender.emit('say', { room, msg: 1 });
    await first; // the owner now holds an offset
    const { _pid: pid, _lastOffset: offset, id: firstId } = a;
    assert.ok(pid && /^[0-9]+$/.test(offset), 'recovery is on');
    const gone = once(a, 'disconnect');
    a.io.engine.close(); // as the network going away: the server keeps the session
    await gone;
    sender.emit('say', { room, msg: 2 });
    await ack(sender, 'whoami');
    // the pid and offset in the hands of another user, then of a guest
    for (const token of [other.token, 'guest']) {
      const s = await connected(client({ token, pid, offset }));
      try {
        assert.notEqual(s.id, firstId, `${token === 'guest' ? 'a guest' : 'another user'} did not get the session`);
        assert.equal((await ack(s, 'whoami')).id, s.id);
      } finally { s.close(); }
    }
    // the owner comes back (socket.io-client sends its pid and offset itself)
    a.connect();
    await once(a, 'connect');
    assert.equal(a.recovered, true, 'the owner still recovers');
    assert.equal(a.id, firstId);
    for (let i = 0; i < 40 && !got.includes(2); i++) await sleep(50);
    assert.deepEqual(got, [1, 2], 'and gets what it missed');
  } finally { sender.close(); a.close(); }
});
