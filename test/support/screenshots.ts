/**
 * Screenshots of browser tests for a human look, written only when SCREENSHOT_DIR names a folder
 * (e.g. `SCREENSHOT_DIR=/tmp/shots npm test`): a normal run leaves no files behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';

export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.SCREENSHOT_DIR;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}
