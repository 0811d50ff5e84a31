// Leaving a page while it still loads its data. The click disposes the page (its resources and
// signals) with its load in flight; when the answer arrives the app must drop it quietly. A
// panic there stops the hydrated app: every later click becomes a full page load, and buttons
// that need the WASM do nothing. Runs after y-signals.spec.mjs (files run in name order), so
// bob is the owner and sees every section.
import { test, expect } from '@playwright/test';
import { signIn, hydrated } from './support.mjs';

const SECTIONS = ['/members', '/sso', '/activity', '/audit', '/provisioning'];

test('leaving pages while their data loads keeps the app working', async ({ browser }) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && /panicked|disposed/i.test(m.text()) && errors.push(m.text()));
  await signIn(page, 'bob');
  await page.goto('/members');
  await hydrated(page);
  // Survives client-side navigation only: a full page load (what a dead WASM falls back to)
  // starts a new window object.
  await page.evaluate(() => { window.__sameDocument = true; });

  // Every server function answers 700 ms late, so each page's data is in flight when the next
  // click leaves it.
  let delayed = 0;
  await page.route((url) => url.pathname.startsWith('/api/'), async (route) => {
    delayed += 1;
    await new Promise((r) => setTimeout(r, 700));
    await route.continue().catch(() => {});
  });
  const nav = (href) => page.locator(`nav.nav a[href="${href}"]`);
  for (const round of [0, 1]) {
    for (const href of [...SECTIONS.slice(1), SECTIONS[0]]) {
      await nav(href).click();
      // Leave at once in the first round; in the second, once the load has surely started.
      await page.waitForTimeout(round === 0 ? 50 : 300);
    }
  }
  // A filter on the activity page (a client-side navigation within the page: its list
  // reloads), left before the answer.
  await nav('/activity').click();
  await page.locator('nav.chips a[href="/activity?outcome=success"]').click();
  await page.waitForTimeout(100);
  await nav('/members').click();
  // Every late answer arrives at a page that is gone.
  await page.waitForTimeout(1500);
  expect(delayed, 'server-function calls that were delayed').toBeGreaterThan(5);
  await page.unrouteAll({ behavior: 'wait' });

  // The app still works, in the same document: client-side navigations whose pages load,
  // the activity filter, and the members list.
  await nav('/audit').click();
  await expect(page.locator('#audit-table tr').first()).toBeVisible();
  await nav('/activity').click();
  await page.locator('nav.chips a[href="/activity?outcome=failure"]').click();
  await expect(page).toHaveURL(/outcome=failure/);
  await expect(page.locator('#attempts-table tr.attempt.failure').first()).toBeVisible();
  await expect(page.locator('#attempts-table tr.attempt.success')).toHaveCount(0);
  await nav('/members').click();
  await expect(page.locator('#members-table tr[data-email="bob@example.com"]')).toBeVisible();
  expect(await page.evaluate(() => window.__sameDocument === true), 'still the same document (no full page load)').toBe(true);
  expect(errors, 'errors in the page').toEqual([]);
  await ctx.close();
});
