// SCIM provisioning in the admin UI: the owner creates a token on the SSO page (shown once,
// with where it goes in Okta), Okta's first request shows in the provisioning log, the owner
// revokes the token after a confirmation and sets the mode back. Runs after
// workflow-admin.spec.mjs (bob owns acme by then) and leaves acme as it found it (mode jit, no
// active token).
import { test, expect } from '@playwright/test';
import { TESSERA_URL, signIn, hydrated, shot } from './support.mjs';

test.describe.configure({ mode: 'serial' });

test('the owner creates a SCIM token, sees Okta use it, and revokes it', async ({ browser }, testInfo) => {
  test.setTimeout(120_000);
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && /hydration|panicked/i.test(m.text()) && errors.push(m.text()));
  await signIn(page, 'bob');
  await page.goto('/sso');
  await hydrated(page);

  const section = page.locator('#provisioning');
  await expect(section).toContainText('SCIM connector base URL');
  await expect(page.locator('#scim-base-url')).toHaveText(`${TESSERA_URL}/scim/v2`);
  await expect(page.locator('#mode-jit')).toBeChecked();

  // Create: the token is shown once, with the Okta steps; the mode moved to both.
  await page.locator('#scim-token-name').fill('Okta e2e');
  await page.locator('#create-scim-token').click();
  const box = page.locator('#scim-token-created');
  await expect(box).toBeVisible();
  await expect(box).toContainText('Unique identifier field for users');
  await expect(box).toContainText('HTTP Header');
  await expect(page.locator('#scim-mode-switched')).toBeVisible();
  const secret = (await page.locator('#scim-token-secret').textContent()).trim();
  expect(secret).toMatch(/^tscim_/);
  await expect(page.locator('#mode-both')).toBeChecked();
  const active = page.locator('#scim-tokens tr[data-state="active"]');
  await expect(active).toHaveCount(1);
  await expect(active).toContainText('Okta e2e');
  await expect(active).toContainText('never');
  await shot(page, testInfo, 'provisioning-token-created.png');

  // Okta's request with it works and is in the log.
  const r = await fetch(`${TESSERA_URL}/scim/v2/Users?startIndex=1&count=1`, {
    headers: { authorization: `Bearer ${secret}`, accept: 'application/scim+json' },
  });
  expect(r.status).toBe(200);
  await page.locator('#provisioning-log-link').click();
  await page.waitForURL(`${TESSERA_URL}/provisioning`);
  await hydrated(page);
  await expect(page.locator('#provisioning-table')).toContainText('GET /Users');
  await expect(page.locator('#provisioning-range')).toHaveText('1 request');

  // Back on the SSO page the token is not shown again; Revoke asks first.
  await page.goto('/sso');
  await hydrated(page);
  expect(await page.content()).not.toContain(secret);
  await active.getByRole('button', { name: /Revoke the token/ }).click();
  const dialog = page.locator('[role="alertdialog"]');
  await expect(dialog).toContainText('Revoke the token “Okta e2e”');
  await expect(page.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await page.locator('#dialog-confirm').click();
  await expect(section.locator('.notice.ok')).toContainText('is revoked');
  await expect(page.locator('#scim-tokens tr[data-state="revoked"]')).toHaveCount(1);
  const refused = await fetch(`${TESSERA_URL}/scim/v2/Users`, { headers: { authorization: `Bearer ${secret}` } });
  expect(refused.status).toBe(401);

  // The mode back to jit.
  await page.locator('label[for="mode-jit"]').click();
  await page.locator('#save-provisioning-mode').click();
  await expect(page.locator('#provisioning-mode-form .notice.ok')).toContainText('The provisioning mode is jit now.');
  await expect(page.locator('#mode-jit')).toBeChecked();
  expect(errors).toEqual([]);
  await ctx.close();
});
