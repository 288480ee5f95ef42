// Browser test of the webhooks portal, run by e2e_test.go (which starts the
// portal, a dispatcher and a local receiver, and passes their addresses in
// the environment). It drives Debian's Chromium through playwright-core:
// try to add a webhook with a private address, add one pointing at the
// receiver, see the secret once, press Test Ping, see the delivery succeed
// in the log, make the receiver fail, press Resend, see the new attempt,
// disable the webhook and ping it, then open the error pages.
//
// Every page it reaches is audited where it stands (audit): at a 390 px
// wide viewport the document must not scroll sideways, and axe-core, run
// in the page, lists its accessibility violations. Screenshots of the main
// screens, at 1280 px and at 390 px, land in ARTIFACTS. The script prints
// one JSON line: what the Go test checks next, the audits included (the Go
// test fails on a page that scrolls sideways or has a serious or critical
// violation), and every request that left the portal's origin.
import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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
const session = env('SESSION_COOKIE'); // name=value: the host's sign-in
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const timeout = 20_000;
const origin = new URL(portal).origin;
const desktop = { width: 1280, height: 900 };
const phone = { width: 390, height: 844 };

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

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
  viewport: desktop,
});
const [cookieName, cookieValue] = session.split('=');
const signIn = () => context.addCookies([{ name: cookieName, value: cookieValue, url: origin }]);
await signIn();

// Pages must load nothing from elsewhere: no fonts, scripts or images of
// another origin.
const external = [];
context.on('request', (req) => {
  const u = req.url();
  if (!u.startsWith(origin + '/') && !u.startsWith('data:') && !u.startsWith('about:')) external.push(u);
});

const screenshots = [];
const shoot = async (page, name) => {
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  screenshots.push(path);
};

// audit checks the page as it is now, without reloading it (a reload would
// lose a secret shown once): at 390 px its document must not be wider
// than the viewport, and axe-core reports its violations. It screenshots
// the page at both widths.
const audits = [];
const audit = async (page, name) => {
  await page.waitForLoadState('load');
  await page.setViewportSize(phone);
  const overflow = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const wide = [];
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.right > width + 0.5 && getComputedStyle(el).position !== 'fixed') {
        wide.push(`${el.tagName.toLowerCase()}${el.className ? '.' + String(el.className).split(' ').join('.') : ''} (right edge ${Math.round(r.right)})`);
      }
    }
    return { scrollWidth: document.documentElement.scrollWidth, clientWidth: width, wide: wide.slice(0, 8) };
  });
  await shoot(page, `${name}-390`);
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const res = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return res.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
    }));
  });
  await page.setViewportSize(desktop);
  await shoot(page, name);
  audits.push({ page: name, url: page.url(), ...overflow, violations });
};

let page;
try {
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(timeout);

  // The list starts empty.
  await page.goto(portal);
  await page.getByText('No webhooks yet').waitFor();
  await audit(page, 'list-empty');

  // Add a webhook: a private address is refused in plain words, and what
  // was entered is kept.
  await page.getByRole('link', { name: 'Add webhook' }).click();
  await page.getByLabel('Endpoint URL').fill('https://10.1.2.3/hook');
  await page.locator('input[name="event_types"][value="task.*"]').check();
  await page.locator('input[name="event_types"][value="milestone.completed"]').check();
  await page.getByLabel('Whole organization (all projects)').check();
  await page.getByLabel('Description').fill('E2E: task events to the local receiver');
  await audit(page, 'new');
  await page.getByRole('button', { name: 'Create webhook' }).click();
  await page.getByRole('alert').filter({ hasText: 'is on a private network' }).waitFor();
  check(await page.locator('input[name="event_types"][value="task.*"]').isChecked(), 'choices kept after an error');
  await audit(page, 'new-error');

  await page.getByLabel('Endpoint URL').fill(`${receiver}/hook`);
  await page.getByRole('button', { name: 'Create webhook' }).click();

  // The secret is shown once...
  const secret = (await page.locator('#secret').textContent()).trim();
  check(/^whsec_[A-Za-z0-9+/=]{40,}$/.test(secret), `secret shown: ${secret.slice(0, 10)}…`);
  await page.getByText('It will not be shown again').waitFor();
  await audit(page, 'secret');
  // ...and not on reload.
  await page.reload();
  await page.getByRole('heading', { name: 'Delivery log' }).waitFor();
  check((await page.locator('#secret').count()) === 0, 'secret gone after reload');
  check(!(await page.content()).includes(secret), 'secret not in the reloaded page');

  // Test Ping: the delivery succeeds and shows in the log.
  await page.getByRole('button', { name: 'Test Ping' }).click();
  await page.getByRole('heading', { name: 'Test ping delivered' }).waitFor();
  const rows = page.locator('table.log tbody tr');
  await rows.filter({ has: page.locator('.badge.succeeded') }).nth(1).waitFor(); // creation ping and test ping
  await audit(page, 'ping');

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
  await second.getByText('The endpoint answered 500 Internal Server Error.').waitFor();
  check((await page.locator('tr[data-attempt="1"] .badge.succeeded').count()) === 1, 'first attempt still succeeded');
  await page.locator('.badge.failed', { hasText: 'failed' }).first().waitFor(); // settled: no more reloads
  await audit(page, 'delivery');

  // Back to the log: the resent delivery is failed now.
  await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link').nth(1).click();
  await page.locator(`tr[data-delivery="${deliveryId}"] .badge.failed`).waitFor();
  await audit(page, 'detail');

  // The list shows the webhook's health: failing since the resend.
  await page.goto(portal);
  await page.locator('table.list .badge.failed', { hasText: 'Failing' }).waitFor();
  await audit(page, 'list');

  // Disabled, the webhook still answers Test Ping, and the page says why
  // it failed though nothing is recorded.
  await page.locator('table.list a.url').first().click();
  await page.getByRole('button', { name: 'Disable' }).click();
  await page.getByText('Events published while it is disabled are not delivered to it, now or later.').first().waitFor();
  await page.getByRole('button', { name: 'Test Ping' }).click();
  await page.getByRole('heading', { name: 'Test ping failed' }).waitFor();
  await page.getByText('not recorded in the delivery log').first().waitFor();
  await page.getByText('The endpoint answered 500 Internal Server Error.').first().waitFor();
  await audit(page, 'disabled-ping');

  // Error pages: not found, no permission, not signed in.
  await page.goto(`${portal}/sub_does_not_exist`);
  await page.getByRole('link', { name: 'Back to webhooks' }).waitFor();
  await audit(page, 'error-404');
  await page.goto(portal.replace('/org_acme/', '/org_other/'));
  await page.getByRole('heading', { name: 'You cannot manage webhooks in this organization' }).waitFor();
  await audit(page, 'error-403');
  await context.clearCookies();
  await page.goto(portal);
  await page.getByRole('heading', { name: 'Sign in to manage webhooks' }).waitFor();
  await page.getByRole('link', { name: 'Sign in' }).waitFor();
  await audit(page, 'error-401');
  await signIn();

  writeFileSync(join(artifacts, 'audits.json'), JSON.stringify(audits, null, 2));
  console.log(JSON.stringify({ secret, deliveryId, screenshots, audits, external }));
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
