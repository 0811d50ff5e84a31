// Self-service SSO setup in Chromium: Globex's Okta administrator opens the one-time setup
// link that end2end/run.sh created with `tessera org setup-link globex`, follows the steps,
// enters Globex's Okta (a second okta-dev: one Okta issuer belongs to one org), tests the
// connection, saves, and the first person to click the Globex tile becomes Globex's owner.
// On the way: the Copy buttons copy the two values for Okta, each test's result lands in view
// (the page is a post/redirect/get to #report, so Back never re-posts), a wrong Client ID is
// blamed alone (the redirect URI "not checked"), nothing scrolls sideways at 375 px, and the
// "Okta is connected" page says what happens next and leads on into Tessera.
// Runs last (files run in name order). Needs SETUP_URL, GLOBEX_OKTA_URL, GLOBEX_CLIENT_ID and
// GLOBEX_CLIENT_SECRET from run.sh. Every step is captured as a PNG.
import { test, expect } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
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

/** At 375 px wide nothing on the page scrolls sideways; back to `width` afterwards. */
async function fitsAPhone(page, testInfo, name, width = 1280) {
  await page.setViewportSize({ width: 375, height: 740 });
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  expect(overflow, `${name} scrolls sideways at 375 px`).toBeLessThanOrEqual(0);
  await shot(page, testInfo, `${name}-375.png`);
  await page.setViewportSize({ width, height: 900 });
}

/** No serious or critical axe-core violation. */
async function accessible(page, name) {
  const axe = await new AxeBuilder({ page }).analyze();
  const bad = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(
    bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    name,
  ).toEqual([]);
}

/** Fills the form and clicks "Test connection"; the result must land in view, focused. */
async function testConnection(page, clientId, secret) {
  await page.locator('#okta-domain').fill(GLOBEX_OKTA_URL);
  await page.locator('#client-id').fill(clientId);
  await page.locator('#client-secret').fill(secret);
  const [posted] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/test')),
    page.locator('#test-connection').click(),
  ]);
  // Post/redirect/get: 303 to the page's result region.
  expect(posted.status()).toBe(303);
  expect(posted.headers().location).toBe(`${new URL(SETUP_URL).pathname}#report`);
  await page.waitForURL((url) => url.hash === '#report');
  await page.waitForLoadState('load');
  const region = page.locator('#report');
  await expect(region).toBeInViewport();
  await expect(region).toBeFocused();
  await expect(page.locator('#test-report')).toBeInViewport();
  return page.locator('#test-report');
}

test('the Okta admin connects Globex with the setup link; the first sign-in becomes owner', async ({ browser }, testInfo) => {
  expect(SETUP_URL, 'run.sh exports SETUP_URL').toBeTruthy();
  expect(GLOBEX_OKTA_URL, 'run.sh exports GLOBEX_OKTA_URL').toBeTruthy();
  expect(GLOBEX_CLIENT_SECRET, 'run.sh exports GLOBEX_CLIENT_SECRET').toBeTruthy();

  // The IT admin, not signed in to Tessera, opens the link.
  const adminCtx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await adminCtx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: TESSERA_URL });
  const page = await adminCtx.newPage();
  const cspErrors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content.Security.Policy/i.test(msg.text())) cspErrors.push(msg.text());
  });
  const posts = [];
  page.on('request', (req) => {
    if (req.method() === 'POST') posts.push(req.url());
  });
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
  await fitsAPhone(page, testInfo, 'setup-page');

  // Copy buttons (the page's own script; the CSP allows it, no inline script): each copies
  // its value to the clipboard.
  for (const [id, value] of [
    ['redirect-uri', `${TESSERA_URL}/sso/callback`],
    ['initiate-login-uri', `${TESSERA_URL}/sso/initiate`],
  ]) {
    const button = page.locator(`#copy-${id}`);
    await expect(button).toBeVisible();
    await button.click();
    await expect(button).toHaveText('Copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(value);
  }
  await expect(page.locator('#copy-status')).toHaveText('Copied the Initiate login URI to the clipboard.');

  // A Client ID Okta does not know: that check alone is blamed; the redirect URI, which Okta
  // checks only for a known client, is one "not checked" line, not a red cross.
  let report = await testConnection(page, 'tessera-nobody', GLOBEX_CLIENT_SECRET);
  await expect(report).toHaveAttribute('data-ok', 'false');
  await expect(report.locator('li.check.failed')).toHaveCount(1);
  await expect(report.locator('li[data-check="client_credentials"]')).toHaveClass(/\bfailed\b/);
  await expect(report.locator('li[data-check="redirect_uri"]')).toHaveCount(0);
  await expect(report.locator('#not-checked')).toHaveText(
    'Not checked because “Client ID and Client secret” failed: Sign-in redirect URI (it needs a valid Client ID).',
  );
  await expect(report).not.toContainText('to Sign-in redirect URIs');
  await accessible(page, 'setup page with a failed test');
  await shot(page, testInfo, 'setup-wrong-client-id.png');
  await fitsAPhone(page, testInfo, 'setup-wrong-client-id');
  // Back and reload are GETs: no "Confirm form resubmission", nothing posted again.
  const postsSoFar = posts.length;
  await page.goBack();
  await expect(page).toHaveURL(SETUP_URL);
  await page.reload();
  await expect(page.locator('h1')).toHaveText('Connect Globex to Okta');
  expect(posts.length).toBe(postsSoFar);

  // Globex's values: every check passes, shown where the buttons are.
  report = await testConnection(page, GLOBEX_CLIENT_ID, GLOBEX_CLIENT_SECRET);
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
  await expect(page.locator('#save')).toBeInViewport();
  await shot(page, testInfo, 'setup-tested.png');
  await fitsAPhone(page, testInfo, 'setup-tested');

  // Save: SSO is on and the admin is told what to do next, and how to go on.
  await page.locator('#save').click();
  await page.waitForURL(`${SETUP_URL}/done`);
  await expect(page.locator('#setup-done h1')).toHaveText('Okta is connected');
  await expect(page.locator('#setup-next')).toContainText(
    "Click the app's tile in your Okta dashboard now: the first person to sign in becomes the owner",
  );
  const next = page.locator('#next-steps');
  await expect(next).toContainText('Assignments');
  await expect(next).toContainText('Only people assigned to the app can sign in.');
  await expect(next).toContainText('tile in their Okta dashboard');
  await expect(page.locator('#sign-in-now')).toHaveAttribute('href', '/sso/start?org=globex');
  await expect(page.locator('#sign-in-now')).toHaveText('Sign in to Globex now');
  await expect(page.locator('#tessera-sign-in')).toHaveAttribute('href', '/login');
  // The optional step: where Universal Logout and Shared Signals go in Okta, with Copy buttons.
  const signals = page.locator('#setup-signals');
  await expect(signals).toContainText('Global token revocation endpoint');
  await expect(page.locator('#universal-logout-endpoint')).toHaveText(`${TESSERA_URL}/oauth/global-token-revocation`);
  await expect(page.locator('#ssf-endpoint')).toHaveText(`${TESSERA_URL}/ssf/events`);
  await expect(page.locator('#ssf-audience')).toHaveText(`${TESSERA_URL}/ssf/orgs/globex`);
  await expect(page.locator('#copy-universal-logout-endpoint')).toBeVisible();
  await accessible(page, 'Okta is connected');
  await shot(page, testInfo, 'setup-saved.png');
  await fitsAPhone(page, testInfo, 'setup-saved');
  // A reload shows it again, without posting.
  const postsAtSave = posts.length;
  await page.reload();
  await expect(page.locator('#setup-done h1')).toHaveText('Okta is connected');
  expect(posts.length).toBe(postsAtSave);
  expect(cspErrors, 'CSP errors on the setup pages').toEqual([]);

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
