// What the end2end specs share: where the local Okta and Tessera run, signing in from the Okta
// dashboard tile, waiting for hydration, and full-page screenshots into the test output folder.
import * as path from 'node:path';

export const OKTA_URL = (process.env.OKTA_URL || 'http://127.0.0.1:4000').replace(/\/+$/, '');
export const TESSERA_URL = (process.env.TESSERA_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');
export const CLIENT_ID = process.env.OKTA_CLIENT_ID || 'tessera-acme';

/** Signs `username` in from the Tessera tile of okta-dev's dashboard; waits to be back in Tessera. */
export async function signIn(page, username) {
  await page.goto(`${OKTA_URL}/app/UserHome`);
  await page.locator(`a.app-tile[data-client-id="${CLIENT_ID}"]`).click();
  await page.locator('#okta-signin-username').fill(username);
  await page.locator('#okta-signin-password').fill('password');
  await page.locator('#okta-signin-submit').click();
  await page.waitForURL((url) => url.origin === new URL(TESSERA_URL).origin, { timeout: 20_000 });
}

/** Waits until the page's WASM has hydrated it. */
export async function hydrated(page) {
  await page.waitForSelector('body[data-hydrated="true"]', { state: 'attached', timeout: 20_000 });
}

/** A full-page screenshot named `name` in the test output folder. */
export async function shot(page, testInfo, name) {
  await page.screenshot({ path: path.join(testInfo.project.outputDir, name), fullPage: true });
}
