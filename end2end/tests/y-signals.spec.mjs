// Universal Logout and Shared Signals end to end: the owner reads what to paste into Okta from
// the SSO page and sets the local Okta up with it; then a signed-in person's open page stops
// working when the Okta admin clears their sessions (Universal Logout), when Okta pushes a CAEP
// session-revoked event (Shared Signals), and when the owner uses "Sign out everywhere" on the
// Members page. With Universal Logout switched off, Okta's request is refused and nothing ends.
// The owner sees every signal on the Login activity page and in the audit log.
// Runs after y-scim.spec.mjs (bob owns acme by then, alice is an admin); run alone, bob signs in
// first and becomes the owner, and alice is made an admin here.
import { test, expect } from '@playwright/test';
import * as path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { OKTA_URL, TESSERA_URL, signIn, hydrated, shot } from './support.mjs';

test.describe.configure({ mode: 'serial' });

/** At 1280 and 375 px: no serious or critical axe-core violation, nothing scrolls sideways. */
async function accessible(page, url, name) {
  for (const width of [1280, 375]) {
    await page.setViewportSize({ width, height: 900 });
    await page.goto(url);
    await hydrated(page);
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
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

test('Okta signs a person out of Tessera: Universal Logout, a CAEP event, and the owner', async ({ browser, request }, testInfo) => {
  test.setTimeout(240_000);
  const dev = async (path, data) => {
    const r = await request.post(`${OKTA_URL}${path}`, { data });
    const body = await r.json();
    expect(r.ok(), `${path}: ${JSON.stringify(body)}`).toBeTruthy();
    return body;
  };
  const copied = async (page, id) => (await page.locator(`#${id}`).textContent()).trim();

  // The owner's SSO page: both switches on, the values to paste into Okta, no signal yet.
  const ownerCtx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const owner = await ownerCtx.newPage();
  await signIn(owner, 'bob');
  await expect(owner.locator('#signed-in-role')).toHaveText('owner');
  await owner.goto('/sso');
  await hydrated(owner);
  const section = owner.locator('#signals');
  await expect(section.locator('h2')).toHaveText('Universal Logout and Shared Signals');
  await expect(owner.locator('#signals-universal-logout')).toBeChecked();
  await expect(owner.locator('#signals-shared-signals')).toBeChecked();
  await expect(owner.locator('#signals-sso-on')).toContainText('only while single sign-on is on');
  await expect(owner.locator('#last-signal')).toHaveText('No signal received yet.');
  await expect(owner.locator('#okta-universal-logout-steps')).toContainText('Global token revocation endpoint');
  await expect(owner.locator('#universal-logout-subject-format')).toContainText('Issuer and Subject identifier');
  const logoutEndpoint = await copied(owner, 'universal-logout-endpoint');
  const ssfEndpoint = await copied(owner, 'ssf-endpoint');
  const ssfAudience = await copied(owner, 'ssf-audience');
  expect(logoutEndpoint).toBe(`${TESSERA_URL}/oauth/global-token-revocation`);
  expect(ssfEndpoint).toBe(`${TESSERA_URL}/ssf/events`);
  expect(ssfAudience).toBe(`${TESSERA_URL}/ssf/orgs/acme`);

  // Okta's side, with exactly those values; the stream's verification event comes through.
  await dev('/__dev/universal-logout/config', { endpoint: logoutEndpoint });
  await dev('/__dev/ssf/stream', { endpoint_url: ssfEndpoint, aud: ssfAudience });
  const verified = await dev('/__dev/ssf/push', { event: 'verification', state: 'e2e' });
  expect(verified.status, JSON.stringify(verified)).toBe(202);
  await owner.reload();
  await hydrated(owner);
  await expect(owner.locator('#last-signal-event')).toHaveText('Stream verification (SSF)');
  await expect(owner.locator('#last-signal-outcome')).toHaveText('Stream verified');
  await section.screenshot({ path: path.join(testInfo.project.outputDir, 'signals-sso-section.png') });

  // Alice is signed in, in her own browser, on a page with an action (admins invite people).
  const aliceSignsIn = async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signIn(page, 'alice');
    await expect(page.locator('#signed-in-member')).toContainText('alice@example.com');
    return { ctx, page };
  };
  const onMembers = async (page) => {
    await page.goto('/members');
    await hydrated(page);
    await expect(page.locator('#invite-email')).toBeEnabled();
  };
  // Her open page's next action is refused, and says so.
  const pageStopsWorking = async (page, name) => {
    await page.locator('#invite-email').fill('someone@example.com');
    await page.locator('#invite').click();
    await expect(page.locator('#session-ended')).toBeVisible();
    await expect(page.locator('#session-ended')).toContainText('Your session has ended');
    expect((await page.request.get('/api/v1/me')).status()).toBe(401);
    await shot(page, testInfo, name);
  };
  let alice = await aliceSignsIn();
  const aliceRow = owner.locator('#members-table tr[data-email="alice@example.com"]');
  await owner.goto('/members');
  await hydrated(owner);
  if ((await aliceRow.locator('.role').textContent()).trim() === 'member') {
    await aliceRow.locator('select.row-actions').selectOption('make-admin');
    await expect(aliceRow.locator('.role')).toHaveText('admin');
  }
  await onMembers(alice.page);

  // 1. Universal Logout: the Okta admin clears her user sessions.
  const okta = await ownerCtx.newPage();
  await okta.goto(`${OKTA_URL}/admin/app`);
  await okta.locator('[data-testid="clear-sessions-alice"]').click();
  await expect(okta.locator('#ul-result')).toHaveAttribute('data-status', '204');
  await pageStopsWorking(alice.page, 'signals-universal-logout-session-ended.png');
  await alice.ctx.close();

  // The owner sees it under Login activity, with what Tessera did.
  await owner.goto('/activity');
  await hydrated(owner);
  const signals = owner.locator('#security-events-table');
  const logoutRow = signals.locator('tr[data-event-type="global-token-revocation"]').first();
  await expect(logoutRow).toContainText('Universal Logout');
  await expect(logoutRow).toContainText('alice@example.com');
  await expect(logoutRow).toContainText('Signed out');

  // 2. Shared Signals: Okta pushes a CAEP session-revoked event for her.
  alice = await aliceSignsIn();
  await onMembers(alice.page);
  await okta.goto(`${OKTA_URL}/admin/app`);
  await okta.locator('#ssf-event').selectOption('session-revoked');
  await okta.locator('#ssf-user').selectOption('alice');
  await okta.locator('#ssf-push').click();
  await expect(okta.locator('#ssf-result')).toHaveAttribute('data-status', '202');
  await pageStopsWorking(alice.page, 'signals-caep-session-ended.png');
  await alice.ctx.close();
  await owner.goto('/activity');
  await hydrated(owner);
  const caepRow = signals.locator('tr[data-event-type$="/caep/event-type/session-revoked"]').first();
  await expect(caepRow).toContainText('Session revoked (CAEP)');
  await expect(caepRow).toContainText('alice@example.com');
  await expect(caepRow).toContainText('Signed out (1 session ended)');
  await shot(owner, testInfo, 'signals-activity.png');

  // With Universal Logout switched off, Okta's request is refused and her session goes on.
  alice = await aliceSignsIn();
  await onMembers(alice.page);
  await owner.goto('/sso');
  await hydrated(owner);
  await owner.locator('#signals-universal-logout').uncheck();
  await owner.locator('#save-signals').click();
  await expect(owner.locator('#signals-form .notice.ok')).toHaveText('Saved: Universal Logout is off, Shared Signals on.');
  await expect(owner.locator('#signals-form .notice.ok')).toBeFocused();
  await expect(owner.locator('#signals-universal-logout')).not.toBeChecked();
  await okta.goto(`${OKTA_URL}/admin/app`);
  await okta.locator('[data-testid="clear-sessions-alice"]').click();
  await expect(okta.locator('#ul-result')).toHaveAttribute('data-status', '403');
  expect((await alice.page.request.get('/api/v1/me')).status()).toBe(200);
  await owner.locator('#signals-universal-logout').check();
  await owner.locator('#save-signals').click();
  await expect(owner.locator('#signals-form .notice.ok')).toHaveText('Saved: Universal Logout is on, Shared Signals on.');

  // 3. The owner signs her out everywhere from the Members page, after a confirmation.
  await owner.goto('/members');
  await hydrated(owner);
  await aliceRow.locator('select.row-actions').selectOption('sign-out');
  const dialog = owner.locator('[role="alertdialog"]');
  await expect(dialog).toContainText('out everywhere?');
  await expect(dialog).toContainText('stay a member');
  await expect(owner.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await owner.locator('#dialog-confirm').click();
  await expect(owner.locator('.notice.ok')).toHaveText(/^Signed .+ out everywhere: 1 session ended\.$/);
  await expect(owner.locator('.notice.ok')).toBeFocused();
  // She stays a member, active.
  await expect(aliceRow.locator('.status')).toHaveText('active');
  await pageStopsWorking(alice.page, 'signals-owner-sign-out-session-ended.png');
  await alice.ctx.close();

  // The audit log tells the three apart.
  await owner.goto('/audit');
  await hydrated(owner);
  const revoked = owner.locator('#audit-table tr[data-action="sessions_revoked"]');
  await expect(revoked.filter({ hasText: 'with Universal Logout' }).first()).toContainText(
    'Okta signed alice@example.com out everywhere',
  );
  await expect(revoked.filter({ hasText: 'after a session-revoked event' }).first()).toContainText(
    'Okta signed alice@example.com out everywhere',
  );
  await expect(revoked.first()).toContainText('bob@example.com signed alice@example.com out everywhere (1 session ended)');
  await expect(owner.locator('#audit-table tr[data-action="security_signals_changed"]').first()).toContainText(
    'bob@example.com turned Universal Logout on',
  );

  // With signals recorded, the pages stay accessible and fit a phone: the owner's SSO page
  // (switches, last signal) and Login activity (the table), and an admin's read-only section.
  await accessible(owner, '/sso', 'SSO page (owner)');
  await accessible(owner, '/activity', 'Login activity');
  await owner.setViewportSize({ width: 375, height: 800 });
  await owner.goto('/sso');
  await hydrated(owner);
  await expect(owner.locator('#last-signal-event')).toHaveText('Session revoked (CAEP)');
  await owner.locator('#signals').screenshot({ path: path.join(testInfo.project.outputDir, 'signals-sso-section-375.png') });
  alice = await aliceSignsIn();
  await accessible(alice.page, '/sso', 'SSO page (admin)');
  await expect(alice.page.locator('#universal-logout-state')).toHaveText('on');
  await expect(alice.page.locator('#signals-form')).toHaveCount(0);
  await expect(alice.page.locator('#signals')).toContainText('Only the owner turns them on or off.');
  await alice.ctx.close();
  await okta.close();
  await ownerCtx.close();
});
