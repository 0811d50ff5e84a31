// Sign-in through the local Okta (end2end/okta-dev) the way a person does it:
// Okta's end-user dashboard -> app tile (IdP-initiated, ?iss=...) -> Okta's
// sign-in form -> Tessera. Needs OKTA_URL (okta-dev's issuer) and TESSERA_URL
// (playwright's baseURL); end2end/run.sh sets both.
//
// The tests run in file order (workers: 1): alice signs in first and is
// therefore the org's owner.
import { test, expect } from '@playwright/test';
import * as path from 'node:path';

const OKTA_URL = (process.env.OKTA_URL || 'http://127.0.0.1:4000').replace(/\/+$/, '');
const TESSERA_URL = (process.env.TESSERA_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');
const CLIENT_ID = process.env.OKTA_CLIENT_ID || 'tessera-acme';

async function signInFromOktaDashboard(page, username, password = 'password') {
  await page.goto(`${OKTA_URL}/app/UserHome`);
  const tile = page.locator(`a.app-tile[data-client-id="${CLIENT_ID}"]`);
  await expect(tile).toBeVisible();
  await tile.click();

  // Tessera's initiate endpoint sends the browser to Okta's sign-in form.
  const user = page.locator('#okta-signin-username');
  await expect(user).toBeVisible();
  expect(page.url().startsWith(`${OKTA_URL}/interaction/`), `on okta-dev sign-in page, at ${page.url()}`).toBeTruthy();
  await user.fill(username);
  await page.locator('#okta-signin-password').fill(password);
  await page.locator('#okta-signin-submit').click();

  // Back at Tessera (its callback, then wherever Tessera sends the user).
  await page.waitForURL((url) => url.origin === new URL(TESSERA_URL).origin, { timeout: 20_000 });
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Tessera's home page, "/" (a query string is tolerated).
const HOME = new RegExp(`^${escapeRegExp(TESSERA_URL)}/(\\?.*)?$`);

async function shot(page, testInfo, name) {
  await page.screenshot({ path: path.join(testInfo.project.outputDir, name), fullPage: true });
}

test('alice signs in from the Okta dashboard and is the owner', async ({ page }, testInfo) => {
  await signInFromOktaDashboard(page, 'alice');
  await expect(page).toHaveURL(HOME);
  await expect(page.locator('#signed-in-member')).toContainText('alice@example.com');
  await expect(page.locator('#signed-in-role')).toContainText('owner');
  await shot(page, testInfo, 'login-alice.png');
});

test('bob signs in and is a member', async ({ page }, testInfo) => {
  await signInFromOktaDashboard(page, 'bob');
  await expect(page).toHaveURL(HOME);
  await expect(page.locator('#signed-in-member')).toContainText('bob@example.com');
  await expect(page.locator('#signed-in-role')).toContainText('member');
  await shot(page, testInfo, 'login-bob.png');
});

test('mallory is not assigned to the app and is told so', async ({ page }, testInfo) => {
  await signInFromOktaDashboard(page, 'mallory');
  await expect(page.locator('h1')).toContainText(/not assigned/i);
  await expect(page.locator('.advice')).toContainText(/okta admin/i);
  await expect(page.locator('#signed-in-member')).toHaveCount(0);
  await shot(page, testInfo, 'login-mallory.png');
});

test('after Okta rotates its signing key, carol still signs in', async ({ page, request }, testInfo) => {
  const before = await (await request.get(`${OKTA_URL}/oauth2/v1/keys`)).json();
  const res = await request.post(`${OKTA_URL}/__dev/rotate-keys`);
  expect(res.ok(), `rotate-keys status ${res.status()}`).toBeTruthy();
  const { kid } = await res.json();
  expect(before.keys.map((k) => k.kid)).not.toContain(kid);
  const after = await (await request.get(`${OKTA_URL}/oauth2/v1/keys`)).json();
  expect(after.keys.map((k) => k.kid)).toContain(kid);

  await signInFromOktaDashboard(page, 'carol');
  await expect(page).toHaveURL(HOME);
  await expect(page.locator('#signed-in-member')).toContainText('carol@example.com');
  await shot(page, testInfo, 'login-carol.png');
});

test('a signed-out deep link lands where it pointed after sign-in', async ({ page }) => {
  await page.goto(`${TESSERA_URL}/activity?outcome=failure`);
  const slug = page.locator('#org-slug');
  await expect(slug).toBeVisible();
  await slug.fill('acme');
  await page.locator('#continue').click();
  const user = page.locator('#okta-signin-username');
  await expect(user).toBeVisible();
  await user.fill('alice');
  await page.locator('#okta-signin-password').fill('password');
  await page.locator('#okta-signin-submit').click();
  await page.waitForURL((url) => url.origin === new URL(TESSERA_URL).origin && url.pathname === '/activity', { timeout: 20_000 });
  expect(new URL(page.url()).search).toBe('?outcome=failure');
});
