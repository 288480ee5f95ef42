// Browser test of the webhooks portal, run by e2e_test.go (which starts the
// portal, a dispatcher and a local receiver, and passes their addresses in
// the environment). It drives Debian's Chromium through playwright-core:
// create a webhook pointing at the receiver, see the secret once, press
// Test Ping, see the delivery succeed in the log, make the receiver fail,
// press Resend, see the new attempt. It prints one JSON line with what the
// Go test checks next, and leaves screenshots in ARTIFACTS.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`missing environment variable ${name}`);
  return v;
};
const portal = env('PORTAL_URL'); // the organization's webhook list
const receiver = env('RECEIVER_URL'); // the endpoint to register
const control = env('RECEIVER_CONTROL_URL'); // POST here to make it fail
const artifacts = env('ARTIFACTS');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const timeout = 20_000;

const check = (cond, message) => {
  if (!cond) throw new Error(`check failed: ${message}`);
};

const userDataDir = mkdtempSync(join(tmpdir(), 'webhook-e2e-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
  viewport: { width: 1280, height: 900 },
});
const screenshots = [];
const shoot = async (page, name) => {
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  screenshots.push(path);
};

let page;
try {
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(timeout);

  // The list starts empty.
  await page.goto(portal);
  await page.getByText('No webhooks yet').waitFor();

  // Add a webhook: URL, events from two categories, scope, description.
  await page.getByRole('link', { name: 'Add webhook' }).click();
  await page.getByLabel('Endpoint URL').fill(`${receiver}/hook`);
  await page.locator('input[name="event_types"][value="task.*"]').check();
  await page.locator('input[name="event_types"][value="milestone.completed"]').check();
  await page.getByLabel('Whole organization (all projects)').check();
  await page.getByLabel('Description').fill('E2E: task events to the local receiver');
  await shoot(page, 'new');
  await page.getByRole('button', { name: 'Create webhook' }).click();

  // The secret is shown once...
  const secret = (await page.locator('#secret').textContent()).trim();
  check(/^whsec_[A-Za-z0-9+/=]{40,}$/.test(secret), `secret shown: ${secret.slice(0, 10)}…`);
  await page.getByText('It will not be shown again').waitFor();
  await shoot(page, 'created');
  // ...and not on reload.
  await page.reload();
  await page.getByRole('heading', { name: 'Delivery log' }).waitFor();
  check((await page.locator('#secret').count()) === 0, 'secret gone after reload');
  check(!(await page.content()).includes(secret), 'secret not in the reloaded page');

  // Test Ping: the delivery succeeds and shows in the log.
  await page.getByRole('button', { name: 'Test Ping' }).click();
  await page.getByRole('heading', { name: 'Test ping delivered' }).waitFor();
  const rows = page.locator('table.log tbody tr');
  await rows.filter({ has: page.locator('.badge.succeeded') }).first().waitFor();
  check((await rows.count()) >= 2, 'creation ping and test ping in the log');

  // The receiver now fails; Resend the test ping (the newest row).
  const res = await fetch(`${control}/fail`, { method: 'POST' });
  check(res.ok, `receiver control answered ${res.status}`);
  const newest = rows.first();
  const deliveryId = await newest.getAttribute('data-delivery');
  await newest.getByRole('button', { name: 'Resend' }).click();
  await page.getByText('Resend scheduled.').waitFor();
  // The page reloads itself while the delivery is pending.
  const second = page.locator('tr[data-attempt="2"]');
  await second.waitFor();
  check((await second.locator('code.status').textContent()).trim() === '500', 'second attempt got 500');
  await second.locator('.badge.failed', { hasText: 'status' }).waitFor();
  check((await page.locator('tr[data-attempt="1"] .badge.succeeded').count()) === 1, 'first attempt still succeeded');
  await shoot(page, 'delivery');

  // Back to the log: the resent delivery is failed now.
  await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link').nth(1).click();
  await page.locator(`tr[data-delivery="${deliveryId}"] .badge.failed`).waitFor();
  await shoot(page, 'log');

  // The list shows the webhook's health: failing since the resend.
  await page.goto(portal);
  await page.locator('table.list .badge.failed', { hasText: 'Failing' }).waitFor();
  await shoot(page, 'list');

  console.log(JSON.stringify({ secret, deliveryId, screenshots }));
} catch (err) {
  if (page) {
    await shoot(page, 'failure').catch(() => {});
    console.error(`at ${page.url()}`);
  }
  console.error(err.stack || String(err));
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
