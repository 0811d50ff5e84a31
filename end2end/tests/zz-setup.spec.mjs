// Self-service SSO setup in Chromium: Globex's Okta administrator opens the one-time setup
// link that end2end/run.sh created with `tessera org setup-link globex`, follows the steps,
// enters Globex's Okta (a second okta-dev: one Okta issuer belongs to one org), tests the
// connection, saves, and the first person to click the Globex tile becomes Globex's owner.
// Runs last (files run in name order). Needs SETUP_URL, GLOBEX_OKTA_URL, GLOBEX_CLIENT_ID and
// GLOBEX_CLIENT_SECRET from run.sh. Every step is captured as a PNG.
import { test, expect } from '@playwright/test';
import * as path from 'node:path';

const TESSERA_URL = (process.env.TESSERA_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');
const SETUP_URL = process.env.SETUP_URL;
const GLOBEX_OKTA_URL = (process.env.GLOBEX_OKTA_URL || '').replace(/\/+$/, '');
const GLOBEX_CLIENT_ID = process.env.GLOBEX_CLIENT_ID || 'tessera-globex';
const GLOBEX_CLIENT_SECRET = process.env.GLOBEX_CLIENT_SECRET;

test.describe.configure({ mode: 'serial' });

async function shot(page, testInfo, name) {
  await page.screenshot({ path: path.join(testInfo.project.outputDir, name), fullPage: true });
}

test('the Okta admin connects Globex with the setup link; the first sign-in becomes owner', async ({ browser }, testInfo) => {
  expect(SETUP_URL, 'run.sh exports SETUP_URL').toBeTruthy();
  expect(GLOBEX_OKTA_URL, 'run.sh exports GLOBEX_OKTA_URL').toBeTruthy();
  expect(GLOBEX_CLIENT_SECRET, 'run.sh exports GLOBEX_CLIENT_SECRET').toBeTruthy();

  // The IT admin, not signed in to Tessera, opens the link.
  const adminCtx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await adminCtx.newPage();
  const opened = await page.goto(SETUP_URL);
  expect(opened.status()).toBe(200);
  expect(opened.headers()['cache-control']).toBe('no-store');
  expect(opened.headers()['referrer-policy']).toBe('no-referrer');
  await expect(page.locator('h1')).toHaveText('Connect Globex to Okta');

  // The steps in the Okta Admin Console's words, with the values to paste.
  const body = page.locator('body');
  for (const text of [
    'Applications → Applications',
    'Create App Integration',
    'OIDC - OpenID Connect',
    'Web Application',
    'Either Okta or App',
    'Display application icon to users',
    'Redirect to app to initiate login (OIDC Compliant)',
    'Assign to People',
    'Client Credentials',
  ]) {
    await expect(body).toContainText(text);
  }
  await expect(page.locator('#redirect-uri')).toHaveText(`${TESSERA_URL}/sso/callback`);
  await expect(page.locator('#initiate-login-uri')).toHaveText(`${TESSERA_URL}/sso/initiate`);
  await expect(page.locator('#save')).toBeDisabled();
  await shot(page, testInfo, 'setup-page.png');

  // Enter Globex's Okta and test.
  await page.locator('#okta-domain').fill(GLOBEX_OKTA_URL);
  await page.locator('#client-id').fill(GLOBEX_CLIENT_ID);
  await page.locator('#client-secret').fill(GLOBEX_CLIENT_SECRET);
  await page.locator('#test-connection').click();
  const report = page.locator('#test-report');
  await expect(report).toHaveAttribute('data-ok', 'true');
  await expect(report.locator('li.check')).toHaveCount(5);
  await expect(report.locator('li.check.ok')).toHaveCount(5);
  for (const check of ['discovery', 'issuer', 'signing_keys', 'client_credentials', 'redirect_uri']) {
    await expect(report.locator(`li[data-check="${check}"]`)).toHaveClass(/\bok\b/);
  }
  // The values stay in the form; the secret is never sent back into the page.
  await expect(page.locator('#okta-domain')).toHaveValue(GLOBEX_OKTA_URL);
  await expect(page.locator('#client-id')).toHaveValue(GLOBEX_CLIENT_ID);
  await expect(page.locator('#client-secret')).toHaveValue('');
  expect(await page.content()).not.toContain(GLOBEX_CLIENT_SECRET);
  await expect(page.locator('#save')).toBeEnabled();
  await shot(page, testInfo, 'setup-tested.png');

  // Save: SSO is on and the admin is told what to do next.
  await page.locator('#save').click();
  await expect(page.locator('#setup-done h1')).toHaveText('Okta is connected');
  await expect(page.locator('#setup-next')).toContainText(
    "Click the app's tile in your Okta dashboard now: the first person to sign in becomes the owner",
  );
  await shot(page, testInfo, 'setup-saved.png');

  // The link is used up.
  const again = await page.goto(SETUP_URL);
  expect(again.status()).toBe(410);
  await expect(page.locator('body')).toContainText('This setup link has expired or was already used');
  await adminCtx.close();

  // The first person clicks the Globex tile in Globex's Okta dashboard and becomes the owner.
  const userCtx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const user = await userCtx.newPage();
  await user.goto(`${GLOBEX_OKTA_URL}/app/UserHome`);
  const tile = user.locator(`a.app-tile[data-client-id="${GLOBEX_CLIENT_ID}"]`);
  await expect(tile).toHaveText('Tessera (Globex)');
  await tile.click();
  await user.locator('#okta-signin-username').fill('user9001');
  await user.locator('#okta-signin-password').fill('password');
  await user.locator('#okta-signin-submit').click();
  await user.waitForURL((url) => url.origin === new URL(TESSERA_URL).origin, { timeout: 20_000 });
  await expect(user.locator('#signed-in-member')).toContainText('user9001@example.com');
  await expect(user.locator('#signed-in-role')).toContainText('owner');
  await shot(user, testInfo, 'setup-first-owner.png');
  await userCtx.close();
});
