// docs_faq.mjs: the help centre's FAQ, the template CRUD service: public reads in the
// admin's order with cursor pages, admin-only audited writes, the error envelope for
// every way a call can be wrong.
import { story, api, expectStatus, expectError, assert, newUser, asAdmin, unique } from '../lib.mjs';

story('an admin writes the FAQ; anyone reads it in order, page by page; every write is audited', async () => {
  const admin = (await asAdmin()).token;
  const tag = unique('faq');
  const made = [];
  for (const [n, position] of [[1, 900030], [2, 900010], [3, 900020]]) {
    const r = expectStatus(await api('POST', '/v1/faq', { token: admin, body: { question: `${tag} q${n}?`, answer: `a${n}`, position } }), 201);
    assert.equal(r.json.data.question, `${tag} q${n}?`);
    made.push(r.json.data);
  }
  const seen = [];
  let cursor;
  do {
    const r = expectStatus(await api('GET', `/v1/faq?limit=2${cursor ? `&cursor=${cursor}` : ''}`), 200);
    seen.push(...r.json.data.filter((e) => e.question.startsWith(tag)).map((e) => e.question));
    cursor = r.json.next_cursor;
  } while (cursor);
  assert.deepEqual(seen, [`${tag} q2?`, `${tag} q3?`, `${tag} q1?`], 'ordered by position across pages');
  const upd = expectStatus(await api('PATCH', `/v1/faq/${made[0].id}`, { token: admin, body: { answer: 'better' } }), 200);
  assert.equal(upd.json.data.answer, 'better');
  assert.equal(upd.json.data.question, `${tag} q1?`, 'fields not sent are kept');
  assert.equal(expectStatus(await api('GET', `/v1/faq/${made[0].id}`), 200).json.data.answer, 'better');
  expectStatus(await api('DELETE', `/v1/faq/${made[1].id}`, { token: admin }), 204);
  expectError(await api('GET', `/v1/faq/${made[1].id}`), 404, 'not_found');
  const audit = expectStatus(await api('GET', `/v1/admin/audit?target_type=faq&target_id=${made[0].id}`, { token: admin }), 200);
  assert.deepEqual(audit.json.data.map((a) => a.action).sort(), ['PATCH /v1/faq/:id', 'POST /v1/faq']);
});

story('FAQ writes refuse bad input (400), strangers (401) and non-admins (403); unknown ids are 404', async () => {
  const admin = (await asAdmin()).token;
  const user = await newUser('faq');
  expectError(await api('POST', '/v1/faq', { token: admin, body: { answer: 'no question' } }), 400, 'invalid_argument', 'question');
  expectError(await api('POST', '/v1/faq', { token: admin, body: { question: 'q'.repeat(301), answer: 'a' } }), 400, 'invalid_argument', 'question');
  expectError(await api('POST', '/v1/faq', { token: admin, body: { question: 'q', answer: 'a', position: -1 } }), 400, 'invalid_argument', 'position');
  expectError(await api('POST', '/v1/faq', { token: admin, body: { question: 'q', answer: 'a', extra: 1 } }), 400, 'invalid_argument', 'extra');
  expectError(await api('POST', '/v1/faq', { body: { question: 'q', answer: 'a' } }), 401, 'unauthenticated');
  expectError(await api('POST', '/v1/faq', { token: user.token, body: { question: 'q', answer: 'a' } }), 403, 'forbidden');
  expectError(await api('PATCH', '/v1/faq/123', { token: user.token, body: { answer: 'x' } }), 403, 'forbidden');
  expectError(await api('DELETE', '/v1/faq/123', { token: user.token }), 403, 'forbidden');
  expectError(await api('PATCH', '/v1/faq/123', { token: admin, body: { answer: 'x' } }), 404, 'not_found');
  expectError(await api('DELETE', '/v1/faq/123', { token: admin }), 404, 'not_found');
  expectError(await api('GET', '/v1/faq/not-an-id'), 404, 'not_found');
  expectError(await api('GET', '/v1/faq?cursor=!!'), 400, 'invalid_argument', 'cursor');
});
