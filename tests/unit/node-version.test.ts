/**
 * `npm start` / `npm test` on a Node.js older than package.json "engines" stop at once with the
 * line to run (scripts/node-version.mjs, checked before `npm ci`).
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { aptCandidate, minimumMajor, nodeVersionMessage } from '../../scripts/node-version.mjs';
import { REPO_ROOT } from '../helpers/hub-harness.ts';

const engines = (JSON.parse(readFileSync(`${REPO_ROOT}/package.json`, 'utf8')) as { engines: { node: string } }).engines.node;

t.test('the running Node and any later one pass', async (t) => {
  t.equal(minimumMajor(engines), 20);
  t.equal(nodeVersionMessage(process.versions.node, engines, null), null);
  t.equal(nodeVersionMessage('22.3.0', engines, null), null);
});

t.test('an old Node is told to take the system package when it is recent enough', async (t) => {
  const message = nodeVersionMessage('18.19.0', engines, { version: '20.19.2', major: 20 });
  t.match(message, /^Node\.js 18\.19\.0 is too old: proxyhub needs Node\.js >=20/);
  t.match(message, /\n {2}sudo apt-get install -y nodejs\n/, 'the exact line, on its own');
  t.notMatch(message, /nvm/);
});

t.test('otherwise nvm, whatever the distribution offers', async (t) => {
  const message = nodeVersionMessage('v12.22.9', engines, { version: '12.22.9', major: 12 });
  t.match(message, /offer only nodejs 12\.22\.9/);
  t.match(message, /\n {2}nvm install 20\n/);
  t.notMatch(message, /apt-get/);
  t.match(nodeVersionMessage('16.0.0', engines, null), /\n {2}nvm install 20\n/, 'no apt at all');
});

t.test("apt-cache's candidate is read from its policy output", async (t) => {
  const policy = (stdout: string, status = 0) => () => ({ status, stdout });
  t.same(aptCandidate(policy('nodejs:\n  Installed: (none)\n  Candidate: 20.19.2+dfsg-1\n')), { version: '20.19.2', major: 20 });
  t.same(aptCandidate(policy('nodejs:\n  Candidate: 12.22.9~dfsg-1ubuntu3\n')), { version: '12.22.9', major: 12 });
  t.same(aptCandidate(policy('nodejs:\n  Candidate: 1:18.19.1-1\n')), { version: '18.19.1', major: 18 }, 'an epoch is skipped');
  t.equal(aptCandidate(policy('nodejs:\n  Candidate: (none)\n')), null);
  t.equal(aptCandidate(policy('', 100)), null, 'no apt-cache');
});
