// Invitations end to end: with just-in-time provisioning off, a stranger is refused with advice
// they can act on; the owner invites them by email as an admin on the Members page; their first
// sign-in from the Okta tile then lets them in as an admin. Runs after workflow-admin.spec.mjs
// (bob owns acme by then).
import { test, expect } from '@playwright/test';
import { OKTA_URL, signIn, hydrated } from './support.mjs';


test.describe.configure({ mode: 'serial' });

test('an invited person joins as admin while just-in-time provisioning is off', async ({ browser, request }) => {
  test.setTimeout(120_000);
  for (const username of ['erin', 'frank']) {
    const r = await request.post(`${OKTA_URL}/__dev/users`, {
      data: { username, email: `${username}@example.com`, name: `${username[0].toUpperCase()}${username.slice(1)} Invitee` },
    });
    expect(r.ok()).toBeTruthy();
  }

  const ownerCtx = await browser.newContext();
  const owner = await ownerCtx.newPage();
  await signIn(owner, 'bob');
  // Just-in-time provisioning off.
  await owner.goto('/sso');
  await hydrated(owner);
  const jit = owner.locator('#sso-jit');
  if (await jit.isChecked()) {
    await jit.uncheck();
  }
  await owner.locator('#sso-settings button[type="submit"]').click();
  await expect(owner.locator('#sso-settings .notice.ok')).toContainText('saved');
  await expect(owner.locator('#sso-settings .notice.ok')).toBeInViewport();

  // A stranger is refused, and told to get invited.
  const strangerCtx = await browser.newContext();
  const stranger = await strangerCtx.newPage();
  await signIn(stranger, 'frank');
  await expect(stranger.locator('h1')).toContainText('not a member');
  await expect(stranger.locator('body')).toContainText('invite you');
  await strangerCtx.close();

  // The owner invites erin as an admin.
  await owner.goto('/members');
  await hydrated(owner);
  await owner.locator('#invite-email').fill('erin@example.com');
  await owner.locator('#invite-role').selectOption('admin');
  await owner.locator('#invite').click();
  await expect(owner.locator('#invitations .notice.ok')).toContainText('erin@example.com is invited as admin');
  await expect(owner.locator('#invitations-table tr[data-invitation="erin@example.com"]')).toBeVisible();

  // Erin's first sign-in from the tile lets her in, as an admin; the invitation is used up.
  const erinCtx = await browser.newContext();
  const erin = await erinCtx.newPage();
  await signIn(erin, 'erin');
  await expect(erin.locator('#signed-in-member')).toContainText('erin@example.com');
  await expect(erin.locator('#signed-in-role')).toHaveText('admin');
  await erinCtx.close();
  await owner.goto('/members');
  await hydrated(owner);
  await expect(owner.locator('#members-table tr[data-email="erin@example.com"] .role')).toHaveText('admin');
  await expect(owner.locator('#no-invitations')).toBeVisible();
  await ownerCtx.close();
});
