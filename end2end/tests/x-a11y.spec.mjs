// Every page, signed in and signed out, at 1280 and 375 px: axe-core finds no serious or
// critical accessibility violation, nothing scrolls sideways at 375 px, each page has its own
// title, and the browser reports no Content-Security-Policy error. Screenshots of each page at
// both widths go to end2end/test-results/ (page-<name>-<width>.png).
// Runs after workflow-admin.spec.mjs (files run in name order): bob owns acme by then.
import { test, expect } from '@playwright/test';
import { OKTA_URL, TESSERA_URL, signIn, hydrated } from './support.mjs';
import AxeBuilder from '@axe-core/playwright';
import * as path from 'node:path';


test.describe.configure({ mode: 'serial' });

/** Visits `url`, waits for hydration when the page hydrates, and checks it. */
async function check(page, testInfo, name, url, { title, hydrates = true }) {
  const cspErrors = [];
  const onConsole = (msg) => {
    if (msg.type() === 'error' && /Content.Security.Policy/i.test(msg.text())) {
      cspErrors.push(msg.text());
    }
  };
  page.on('console', onConsole);
  for (const width of [1280, 375]) {
    await page.setViewportSize({ width, height: 800 });
    await page.goto(url);
    if (hydrates) {
      await page.waitForSelector('body[data-hydrated="true"]', { state: 'attached', timeout: 20_000 });
    }
    await expect(page).toHaveTitle(title);
    const axe = await new AxeBuilder({ page }).analyze();
    const bad = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(
      bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
      `${name} at ${width} px`,
    ).toEqual([]);
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow, `${name} scrolls sideways at ${width} px`).toBeLessThanOrEqual(0);
    await page.screenshot({
      path: path.join(testInfo.project.outputDir, `page-${name}-${width}.png`),
      fullPage: true,
    });
  }
  page.off('console', onConsole);
  expect(cspErrors, `${name}: CSP errors`).toEqual([]);
}

test('every page is accessible, fits a phone and has its own title', async ({ browser }, testInfo) => {
  test.setTimeout(180_000);
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await signIn(page, 'bob');
  await check(page, testInfo, 'home', '/', { title: 'Home · Tessera' });
  await check(page, testInfo, 'members', '/members', { title: 'Members · Tessera' });
  await check(page, testInfo, 'sso', '/sso', { title: 'Single sign-on · Tessera' });
  await check(page, testInfo, 'activity', '/activity', { title: 'Login activity · Tessera' });
  await check(page, testInfo, 'audit', '/audit', { title: 'Audit log · Tessera' });
  await check(page, testInfo, 'provisioning', '/provisioning', { title: 'Provisioning log · Tessera' });
  await check(page, testInfo, 'not-found', '/no-such-page', { title: 'Page not found · Tessera' });
  await ctx.close();

  const anon = await browser.newContext();
  const visitor = await anon.newPage();
  await check(visitor, testInfo, 'login', '/login', { title: 'Sign in · Tessera' });
  await check(visitor, testInfo, 'signed-out', '/login?signed_out=1', { title: 'Sign in · Tessera' });
  await expect(visitor.locator('#signed-out')).toContainText('Okta session continues');
  await check(visitor, testInfo, 'problem-org-unknown', '/sso/start?org=nope', {
    title: /· Tessera$/,
    hydrates: false,
  });
  await anon.close();
});

test('signing in by the organization name, and /login when signed in', async ({ browser }) => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto('/login');
  await page.waitForSelector('body[data-hydrated="true"]', { state: 'attached', timeout: 20_000 });
  // The org's display name works, in any case.
  await page.locator('#org-slug').fill('ACME');
  await page.locator('#continue').click();
  await page.waitForURL((url) => url.origin === new URL(OKTA_URL).origin, { timeout: 20_000 });
  await page.locator('#okta-signin-username').fill('bob');
  await page.locator('#okta-signin-password').fill('password');
  await page.locator('#okta-signin-submit').click();
  await page.waitForURL((url) => url.origin === new URL(TESSERA_URL).origin, { timeout: 20_000 });
  await expect(page.locator('#signed-in-member')).toContainText('bob@example.com');
  // Already signed in: /login goes on into the app.
  await page.goto('/login');
  await expect(page).toHaveURL(`${TESSERA_URL}/`);
  // Signing out says so.
  await page.locator('#sign-out').click();
  await expect(page.locator('#signed-out')).toContainText('You are signed out');
  await ctx.close();
});
