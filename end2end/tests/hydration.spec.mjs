// The home page is server-rendered by Leptos and then hydrated by WASM.
// Contract: <input id="org-slug"> and <button id="continue">; the server
// renders the button as "Continue"; once hydrated the app sets
// document.body.dataset.hydrated = "true" and the button text follows the
// input reactively ("Continue to <slug>"), which only the WASM can do.
import { test, expect } from '@playwright/test';
import * as path from 'node:path';

test('home page is server-rendered, then hydrated by WASM', async ({ page, request }, testInfo) => {
  // What the server sends, before any script runs.
  const ssr = await request.get('/');
  expect(ssr.status(), 'GET / status').toBe(200);
  const html = await ssr.text();
  expect(html).toContain('id="org-slug"');
  const ssrButton = /<button\b[^>]*\bid="continue"[^>]*>([\s\S]*?)<\/button>/.exec(html);
  expect(ssrButton, 'server-rendered <button id="continue">').not.toBeNull();
  // Leptos may leave hydration markers (comments, <!>) around text nodes.
  const ssrText = ssrButton[1].replace(/<!--[\s\S]*?-->|<!>|<[^>]+>/g, '').trim();
  expect(ssrText).toBe('Continue');

  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(err));
  const wasmLoaded = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('.wasm'), { timeout: 20_000 });

  await page.goto('/');
  const button = page.locator('#continue');
  const input = page.locator('#org-slug');
  await expect(button).toHaveText('Continue');

  const wasm = await wasmLoaded;
  expect(wasm.ok(), `WASM ${wasm.url()} status ${wasm.status()}`).toBeTruthy();
  await page.waitForSelector('body[data-hydrated="true"]', { state: 'attached', timeout: 20_000 });

  await input.click();
  await input.pressSequentially('acme');
  await expect(input).toHaveValue('acme');
  await expect(button).toHaveText('Continue to acme');

  await page.screenshot({ path: path.join(testInfo.project.outputDir, 'home.png'), fullPage: true });
  expect(pageErrors.map(String), 'uncaught errors in the page').toEqual([]);
});
