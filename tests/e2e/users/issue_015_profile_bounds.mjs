// Issue 15, item 12: every part of a public profile is bounded. Links were checked only
// for their url, so 10 links with 100k-character labels made a 1 MB profile. Now each
// link is exactly {label: 1-40 characters, url: http(s), at most 300}, at most 10 of
// them, and an error names the link and its part ("links[2].label").
import { api, assert, expectError, expectStatus, newUser } from '../lib.mjs';

const link = (i, over = {}) => ({ label: `site ${i}`, url: `https://example.com/${i}`, ...over });

export default [
  { name: 'issue 15: link labels and urls are bounded and named by path; the largest profile stays small', fn: async () => {
    const u = await newUser();
    const patch = (body) => api('PATCH', '/v1/me', { token: u.token, body });
    expectError(await patch({ links: [link(0, { label: 'x'.repeat(100000) })] }), 400, 'invalid_argument', 'links[0].label');
    expectError(await patch({ links: [link(0), link(1), link(2, { label: 'x'.repeat(41) })] }), 400, 'invalid_argument', 'links[2].label');
    expectError(await patch({ links: [link(0, { label: '' })] }), 400, 'invalid_argument', 'links[0].label');
    expectError(await patch({ links: [link(0, { label: 7 })] }), 400, 'invalid_argument', 'links[0].label');
    expectError(await patch({ links: [{ url: 'https://example.com/' }] }), 400, 'invalid_argument', 'links[0].label');
    expectError(await patch({ links: [link(0), link(1, { url: 'javascript:alert(1)' })] }), 400, 'invalid_argument', 'links[1].url');
    expectError(await patch({ links: [link(0, { url: `https://e.co/${'a'.repeat(300)}` })] }), 400, 'invalid_argument', 'links[0].url');
    expectError(await patch({ links: [link(0, { note: 'x'.repeat(100000) })] }), 400, 'invalid_argument', 'links[0].note');
    expectError(await patch({ links: ['https://example.com/'] }), 400, 'invalid_argument', 'links[0]');
    expectError(await patch({ links: Array.from({ length: 11 }, (_, i) => link(i)) }), 400, 'invalid_argument', 'links');
    // nothing of the refused edits landed
    assert.deepEqual((await api('GET', `/v1/users/${u.id}`)).json.data.links, []);
    // the largest accepted profile: 10 links at their bounds, a full bio and name
    const full = Array.from({ length: 10 }, (_, i) => ({ label: `${i}`.padEnd(40, 'l'), url: `https://e.co/${i}`.padEnd(300, 'u') }));
    expectStatus(await patch({ links: full, bio: 'b'.repeat(500), display_name: 'd'.repeat(60) }), 200);
    const pub = expectStatus(await api('GET', `/v1/users/${u.id}`), 200);
    assert.deepEqual(pub.json.data.links, full);
    assert.ok(pub.text.length < 8192, `public profile is ${pub.text.length} bytes`);
    console.log(`     largest public profile: ${pub.text.length} bytes`);
  } },
];
