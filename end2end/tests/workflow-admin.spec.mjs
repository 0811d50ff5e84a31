// The owner's day in the admin UI, in Chromium against the real server and the local Okta:
// sign in from the tile, see members, promote one to admin, deactivate one (whose open session
// is then refused), test the SSO connection, find the unassigned user's failed login with its
// advice, and transfer ownership. Runs after login.spec.mjs (files run in name order), so
// alice is the owner and bob and carol are members. Every page is captured as a PNG.
import { test, expect } from '@playwright/test';
import { TESSERA_URL, signIn, hydrated, shot } from './support.mjs';


test.describe.configure({ mode: 'serial' });

function row(page, email) {
  return page.locator(`#members-table tr[data-email="${email}"]`);
}

test('owner manages members, checks SSO health and hands over ownership', async ({ browser }, testInfo) => {
  // Carol has an open session in her own browser.
  const carolCtx = await browser.newContext();
  const carol = await carolCtx.newPage();
  await signIn(carol, 'carol');
  await expect(carol.locator('#signed-in-member')).toContainText('carol@example.com');

  // Mallory (not assigned in Okta) fails to sign in: owners must see why.
  const malloryCtx = await browser.newContext();
  const mallory = await malloryCtx.newPage();
  await signIn(mallory, 'mallory');
  await expect(mallory.locator('h1')).toContainText(/not assigned/i);
  await malloryCtx.close();

  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  await signIn(page, 'alice');
  await expect(page.locator('#signed-in-role')).toContainText('owner');

  // Members: everyone who signed in is listed.
  await page.goto('/members');
  await hydrated(page);
  for (const email of ['alice@example.com', 'bob@example.com', 'carol@example.com']) {
    await expect(row(page, email)).toBeVisible();
  }
  await shot(page, testInfo, 'admin-members.png');

  // Promote bob to admin.
  // Your own row is marked; each row has one menu of what you may do.
  await expect(row(page, 'alice@example.com').locator('.badge.you')).toHaveText('you');
  await expect(row(page, 'alice@example.com').locator('select.row-actions')).toHaveCount(0);
  await row(page, 'bob@example.com').locator('select.row-actions').selectOption('make-admin');
  await expect(page.locator('.notice.ok')).toContainText('admin');
  // The result shows where the person is looking, and has focus.
  await expect(page.locator('.notice.ok')).toBeInViewport();
  await expect(page.locator('.notice.ok')).toBeFocused();
  await expect(row(page, 'bob@example.com').locator('.role')).toHaveText('admin');

  // Deactivate carol, confirming in the dialog (keyboard: focus starts on Cancel).
  const carolMenu = row(page, 'carol@example.com').locator('select.row-actions');
  await carolMenu.focus();
  await carolMenu.selectOption('deactivate');
  const dialog = page.locator('[role="alertdialog"]');
  await expect(dialog).toBeVisible();
  await shot(page, testInfo, 'admin-confirm-deactivate.png');
  // Focus stays inside the dialog; Escape closes it and focus returns to the menu.
  await expect(page.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.locator('#dialog-confirm')).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  await expect(carolMenu).toBeFocused();
  await carolMenu.selectOption('deactivate');
  await page.locator('#dialog-confirm').click();
  await expect(row(page, 'carol@example.com').locator('.status')).toHaveText('deactivated');

  // Carol's open session is refused at once.
  const carolSession = await carol.request.get('/api/v1/me');
  expect(carolSession.status()).toBe(401);
  await carol.reload();
  await expect(carol.locator('#org-slug')).toBeVisible();
  await expect(carol.locator('#signed-in-member')).toHaveCount(0);
  await carolCtx.close();

  // Search narrows the list server-side.
  await page.goto('/members?q=bob');
  await expect(row(page, 'bob@example.com')).toBeVisible();
  await expect(row(page, 'alice@example.com')).toHaveCount(0);

  // SSO: the URIs to paste into Okta, and a passing connection test.
  await page.goto('/sso');
  await hydrated(page);
  await expect(page.locator('#initiate-uri')).toHaveText(`${TESSERA_URL}/sso/initiate`);
  await expect(page.locator('#redirect-uri')).toHaveText(`${TESSERA_URL}/sso/callback`);
  await expect(page.locator('#secret-hint')).toContainText('••••');
  // Turning SSO off would lock everyone out: the owner sees the switch read-only.
  await expect(page.locator('#sso-enabled-state')).toHaveText('enabled');
  await expect(page.locator('#sso-disable-note')).toContainText('Only the service operator');
  await expect(page.locator('#sso-disable-note')).not.toContainText('tessera');
  await page.locator('#test-connection').click();
  await expect(page.locator('#connection-report')).toContainText('Connection works');
  await expect(page.locator('#connection-report')).toBeInViewport();
  // The owner can hand the Okta admin a one-time setup link (e.g. for a secret rotation).
  await page.locator('#create-setup-link').click();
  await expect(page.locator('#setup-link')).toContainText(`${TESSERA_URL}/setup/`);
  await shot(page, testInfo, 'admin-sso.png');

  // Login activity: mallory's failure with what to do about it.
  await page.goto('/activity?outcome=failure');
  const failure = page.locator('#attempts-table tr[data-reason="idp_error"]').first();
  await expect(failure).toContainText('not assigned');
  await expect(failure).toContainText('Assignments');
  await expect(page.locator('#attempts-table tr.success')).toHaveCount(0);
  await expect(page.locator('.chart svg')).toBeVisible();
  await shot(page, testInfo, 'admin-activity.png');

  // Transfer ownership to bob: alice becomes an admin.
  await page.goto('/members');
  await hydrated(page);
  await row(page, 'bob@example.com').locator('select.row-actions').selectOption('transfer');
  await page.locator('#dialog-confirm').click();
  await expect(row(page, 'bob@example.com').locator('.role')).toHaveText('owner');
  await expect(row(page, 'alice@example.com').locator('.role')).toHaveText('admin');
  // The header follows at once.
  await expect(page.locator('#header-role')).toHaveText('admin');

  // The audit log shows what happened.
  await page.goto('/audit');
  for (const action of ['role_changed', 'member_deactivated', 'ownership_transferred']) {
    await expect(page.locator(`#audit-table tr[data-action="${action}"]`).first()).toBeVisible();
  }
  await shot(page, testInfo, 'admin-audit.png');

  // Reads work with JavaScript off: the pages are server-rendered.
  const state = await ctx.storageState();
  const noJs = await browser.newContext({ javaScriptEnabled: false, storageState: state });
  const plain = await noJs.newPage();
  await plain.goto('/members');
  await expect(row(plain, 'bob@example.com')).toBeVisible();
  await plain.goto('/activity');
  await expect(plain.locator('#attempts-table tr[data-reason="idp_error"]').first()).toBeVisible();
  // Without JavaScript the controls that need it are visibly off, and the state is the saved one.
  await plain.goto('/members');
  await expect(row(plain, 'carol@example.com').locator('select.row-actions')).toBeDisabled();
  await plain.goto('/sso');
  await expect(plain.locator('#test-connection')).toBeDisabled();
  await noJs.close();

  // Usable at 375 px wide.
  await page.setViewportSize({ width: 375, height: 800 });
  await page.goto('/members');
  await expect(row(page, 'bob@example.com')).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await shot(page, testInfo, 'admin-members-375.png');
  await ctx.close();
});
