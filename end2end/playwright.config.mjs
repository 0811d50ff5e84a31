// Playwright configuration for Tessera's browser tests.
// Browsers are never downloaded: the system Chromium (Debian's /usr/bin/chromium)
// is used, or whatever CHROMIUM_PATH points at.
import { defineConfig, devices } from '@playwright/test';

const TESSERA_URL = process.env.TESSERA_URL || 'http://127.0.0.1:3000';

export default defineConfig({
  testDir: './tests',
  testMatch: /.*\.spec\.m?js$/,
  outputDir: './test-results',
  reporter: [['list']],
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  // Whole workflows (sign-ins, several pages, screenshots) on a shared 2-core machine.
  timeout: 90_000,
  expect: { timeout: 10_000 },
  use: {
    baseURL: TESSERA_URL,
    headless: true,
    actionTimeout: 10_000,
    navigationTimeout: 30_000,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        browserName: 'chromium',
        channel: undefined,
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
            '--disable-quic',
          ],
        },
      },
    },
  ],
});
