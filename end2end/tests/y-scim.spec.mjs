// SCIM provisioning end to end: the owner creates a SCIM token on the SSO page and hands it to
// the local Okta; Okta assigns a new person to the app (SCIM creates them in Tessera) and pushes
// a group, which the owner maps to admin; the person signs in from the tile as an admin; Okta
// deactivates them and the next action of their open page is refused. Runs after
// workflow-admin.spec.mjs (bob owns acme by then).
import { test, expect } from '@playwright/test';
import { OKTA_URL, TESSERA_URL, signIn, hydrated, shot } from './support.mjs';

test.describe.configure({ mode: 'serial' });

test('Okta provisions, maps a role by group and deprovisions over SCIM', async ({ browser, request }, testInfo) => {
  test.setTimeout(180_000);
  const dev = async (path, data) => {
    const r = await request.post(`${OKTA_URL}${path}`, { data });
    const body = await r.json();
    expect(r.ok(), `${path}: ${JSON.stringify(body)}`).toBeTruthy();
    return body;
  };
  // Someone Tessera has never seen.
  await dev('/__dev/users', { username: 'gina', email: 'gina@example.com', name: 'Gina Green' });

  // The owner creates a token on the SSO page: shown once, with what to paste into Okta.
  const ownerCtx = await browser.newContext();
  const owner = await ownerCtx.newPage();
  await signIn(owner, 'bob');
  await owner.goto('/sso');
  await hydrated(owner);
  await expect(owner.locator('#scim-base-url')).toHaveText(`${TESSERA_URL}/scim/v2`);
  await owner.locator('#scim-token-name').fill('okta-dev');
  await owner.locator('#create-scim-token').click();
  const secret = (await owner.locator('#scim-token-secret').textContent()).trim();
  expect(secret).toMatch(/^tscim_/);
  await expect(owner.locator('#okta-scim-steps')).toContainText('userName');
  await shot(owner, testInfo, 'scim-token-created.png');

  // Okta's side: the base URL and the token, then an assignment and a group push.
  await dev('/__dev/scim/config', { base_url: `${TESSERA_URL}/scim/v2`, token: secret });
  const assigned = await dev('/__dev/scim/assign', { user: 'gina' });
  expect(assigned.ok, JSON.stringify(assigned)).toBe(true);
  expect(assigned.requests.map((r) => `${r.method} ${r.status}`)).toContain('POST 201');
  const pushed = await dev('/__dev/scim/groups', { name: 'Tessera Admins', members: ['gina'] });
  expect(pushed.ok, JSON.stringify(pushed)).toBe(true);

  // Gina is a member before her first sign-in, marked as never signed in.
  await owner.goto('/members');
  await hydrated(owner);
  const ginaRow = owner.locator('#members-table tr[data-email="gina@example.com"]');
  await expect(ginaRow).toContainText('never signed in');
  await expect(ginaRow.locator('.role')).toHaveText('member');

  // The owner maps the pushed group to admin.
  await owner.goto('/sso');
  await hydrated(owner);
  const group = owner.locator('#role-mappings tr[data-group="Tessera Admins"] select');
  await group.selectOption('admin');
  await expect(owner.locator('#provisioning')).toContainText('are admins now');

  // Gina signs in from the tile: the member Okta provisioned, as an admin.
  const ginaCtx = await browser.newContext();
  const gina = await ginaCtx.newPage();
  await signIn(gina, 'gina');
  await expect(gina.locator('#signed-in-member')).toContainText('gina@example.com');
  await expect(gina.locator('#signed-in-role')).toHaveText('admin');
  await gina.goto('/members');
  await hydrated(gina);

  // Okta deactivates her: her open page's next action is refused.
  const deactivated = await dev('/__dev/scim/deactivate', { user: 'gina' });
  expect(deactivated.ok, JSON.stringify(deactivated)).toBe(true);
  await gina.locator('#invite-email').fill('someone@example.com');
  await gina.locator('#invite').click();
  await expect(gina.locator('#session-ended')).toBeVisible();
  await shot(gina, testInfo, 'scim-deactivated-session-ended.png');

  // The owner sees it in the provisioning log, and Gina listed as deactivated.
  await owner.goto('/provisioning');
  await hydrated(owner);
  await expect(owner.locator('#provisioning-table')).toContainText('deactivated');
  await owner.goto('/members');
  await hydrated(owner);
  await expect(ginaRow).toContainText('deactivated');
  await ginaCtx.close();
  await ownerCtx.close();
});
