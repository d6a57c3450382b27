/**
 * The status page in a real browser (Debian's headless Chromium, driven by playwright-core): it
 * loads from a loopback control listener, shows a worker the moment its process starts and a
 * dead letter (with Foreman's reason) once Foreman answers 422, all without a reload, asks
 * nothing of any other origin, breaks no CSP rule, and leaves a screenshot in docs/.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import t from 'tap';
import { REPO_ROOT } from '../helpers/hub-harness.ts';
import { startHubWithForeman } from '../helpers/hub-with-foreman.ts';
import { spawnHubFor } from '../helpers/test-hub.ts';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join(REPO_ROOT, 'docs/status-page.png');
/** Generous: two cores shared with other test runs, and a worker process to start. */
const SEEN_WITHIN_MS = 30_000;

const root = t;
const { foreman, hub, config } = await startHubWithForeman(t, { roles: 'ingress,control' });
const controlUrl = hub.controlUrl as string;
const origin = new URL(controlUrl).origin;
const userDataDir = mkdtempSync(join(tmpdir(), 'proxyhub-chromium-'));
const browser: BrowserContext = await chromium.launchPersistentContext(userDataDir, {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  viewport: { width: 1280, height: 900 },
});
t.teardown(async () => {
  await browser.close();
  rmSync(userDataDir, { recursive: true, force: true });
});

/** Everything the page asked for, and every complaint of the browser (a CSP violation is one). */
const requested: string[] = [];
const complaints: string[] = [];
let navigations = 0;
const page: Page = await browser.newPage();
page.on('request', (request) => requested.push(request.url()));
page.on('console', (message) => {
  if (message.type() === 'error' || message.type() === 'warning') complaints.push(message.text());
});
page.on('pageerror', (error) => complaints.push(error.message));
page.on('framenavigated', (frame) => {
  if (frame === page.mainFrame()) navigations += 1;
});

const row = (table: string, text: string | RegExp) => page.locator(`#${table} tbody tr`, { hasText: text });
const cells = async (table: string, text: string): Promise<string[]> => row(table, text).first().locator('td').allTextContents();

t.test('the page loads and goes live', async (t) => {
  const response = await page.goto(`${controlUrl}/status`);
  t.equal(response?.status(), 200);
  await page.locator('#live[data-state="live"]').waitFor({ timeout: SEEN_WITHIN_MS });
  t.equal(await page.title(), `proxyhub status · ${config.prefix}`);
  await row('instances', 'control').waitFor({ timeout: SEEN_WITHIN_MS });
  t.equal(await row('instances', 'worker:facts').count(), 0, 'no facts worker yet');
  t.match(await cells('queues', 'facts'), ['facts', '0', '0'], 'facts: nothing waiting, no dead letters');
});

t.test('a worker appears live when its process starts', async (t) => {
  // Stopped when the whole test ends: the later tests look at the hub with this worker running.
  await spawnHubFor(root, config, 'worker:facts');
  await row('instances', 'worker:facts').waitFor({ timeout: SEEN_WITHIN_MS });
  t.pass('the worker’s instance is listed');
  await row('features', /^facts/).waitFor({ timeout: SEEN_WITHIN_MS });
  t.match(await cells('features', 'facts'), ['facts', 'running', '1']);
  t.equal(navigations, 1, 'without a reload');
});

t.test('a dead letter is counted, with Foreman’s reason, when Foreman answers 422', async (t) => {
  foreman.rejectHosts.add('building.example.com');
  const response = await fetch(`${hub.ingressUrl}/api/v2/hosts/facts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'building.example.com', facts: { a: 1 } }) });
  t.equal(response.status, 202);
  const { id } = (await response.json()) as { id: string };
  await page.locator('#queues tbody tr').filter({ has: page.locator('td:nth-child(1)', { hasText: /^facts$/ }) }).filter({ has: page.locator('td:nth-child(3)', { hasText: /^1$/ }) }).waitFor({ timeout: SEEN_WITHIN_MS });
  t.pass('facts shows one dead letter');
  await page.locator('#queues tbody tr').filter({ has: page.locator('td:nth-child(1)', { hasText: /^facts$/ }) }).filter({ has: page.locator('td:nth-child(5)', { hasText: /^1$/ }) }).waitFor({ timeout: SEEN_WITHIN_MS });
  t.match(await cells('queues', 'facts'), ['facts', '0', '1', '0', '1', /^last \d+ s$/], 'and one new dead letter over the span watched');
  await row('failures', id).waitFor({ timeout: SEEN_WITHIN_MS });
  const failure = await cells('failures', id);
  t.equal(failure[1], 'facts');
  t.equal(failure[2], 'PROXYHUB_FOREMAN_REJECTED');
  t.equal(failure[3], '422');
  t.match(failure[4], /Host is pending for Build/, 'Foreman’s own words');
  t.match(await page.locator('#attention').textContent(), /1 dead letter\(s\) in facts/);
  t.equal(navigations, 1, 'still without a reload');
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
});

t.test('the read-only job board renders from this listener alone', async (t) => {
  const board = await browser.newPage();
  const boardRequests: string[] = [];
  board.on('request', (request) => boardRequests.push(request.url()));
  const response = await board.goto(`${controlUrl}/status/jobs/`);
  t.equal(response?.status(), 200);
  await board.getByText('rex-jobs').first().waitFor({ timeout: SEEN_WITHIN_MS });
  t.strictSame(boardRequests.filter((url) => !url.startsWith(origin) && !url.startsWith('data:')), [], 'nothing asked of another origin');
  await board.close();
});

t.test('the page asked nothing of another origin and broke no rule', async (t) => {
  t.ok(requested.length > 0);
  t.strictSame(requested.filter((url) => !url.startsWith(origin)), [], 'every request went to the control listener');
  t.strictSame(complaints, [], 'no console errors or CSP violations');
});
