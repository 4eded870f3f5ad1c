// The live dashboard in a real browser: Debian's Chromium driven by playwright-core opens
// /dashboard with an admin key (HTTP Basic), a workflow runs through the router, and the page
// shows it appear and its call count and hit rate change with no reload. Also checks what a
// keyboard or screen-reader user needs (labels, captions, focusable controls, contrast), and
// saves a screenshot to test/artifacts/dashboard.png.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { withWorkflowMetadata } from 'workflow-router/client';
import { runSupervisorWorkflow } from '../../examples/langgraph/supervisor.ts';
import { MODEL, REPO_ROOT, startStack, type Stack } from '../helpers/router.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const KEY = 'browser-admin-key-0001';
const WORKFLOW = 'browser-wf';
const document = 'The quarterly report every agent of this workflow reads before its task. '.repeat(12);

/** Text of a workflow row's cell, or null while the row is not shown. */
function cellText(page: Page, field: string): Promise<string | null> {
  return page
    .locator(`#workflows tr[data-workflow-id="${WORKFLOW}"] td[data-field="${field}"]`)
    .textContent({ timeout: 100 })
    .catch(() => null);
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * WCAG contrast of every visible text element against its effective background; returns the
 * failures. Runs in the page (as a string: the project compiles without DOM types).
 */
const CONTRAST_CHECK = `(() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.99)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const failures = [];
  for (const el of document.querySelectorAll('h1, h2, dt, dd, th, td, caption, label, button, input, p, span')) {
    const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).join('');
    if (!text || el.offsetParent === null) continue;
    const fg = lum(rgb(getComputedStyle(el).color)), bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) failures.push(el.tagName + ' "' + text.slice(0, 30) + '" ' + ratio.toFixed(2));
  }
  return failures;
})()`;

describe('dashboard in Chromium', { skip: process.env.SKIP_BROWSER_TESTS === '1' }, () => {
  let stack: Stack;
  let context: BrowserContext;
  let profile: string;
  let page: Page;
  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (make test does)`);
    stack = await startStack({ pods: 3, router: { apiKeys: [KEY] } });
    profile = mkdtempSync(join(tmpdir(), 'wr-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      httpCredentials: { username: 'admin', password: KEY },
      viewport: { width: 1360, height: 1000 },
      colorScheme: 'light',
    });
  });
  after(async () => {
    await context?.close();
    await stack?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  const call = (agentId: string): Promise<unknown> =>
    stack
      .client({ apiKey: KEY })
      .chat.completions.create(
        withWorkflowMetadata(
          { model: MODEL, max_tokens: 8, messages: [{ role: 'user' as const, content: document }] },
          { workflowId: WORKFLOW, agentId },
        ),
      );

  test('a workflow appears and its calls and hit rate change live, without a reload', async () => {
    page = await context.newPage();
    let loads = 0;
    page.on('load', () => (loads += 1));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const response = await page.goto(`${stack.router.url}/dashboard`);
    assert.equal(response?.status(), 200);
    await page.evaluate('window.__sameDocument = true');
    await until(
      'the feed to connect',
      async () => (await page.locator('#connection').textContent()) === 'Live',
    );
    await until('the pods', async () => (await page.locator('#pods tbody tr').count()) === 3);
    assert.equal(await cellText(page, 'calls'), null, 'no workflow before the first call');

    await call('reader');
    await until('the workflow to appear', async () => (await cellText(page, 'calls')) === '1');
    const firstHit = await cellText(page, 'hit_rate');
    assert.equal(firstHit, '0.0%', 'a cold pod has nothing cached');
    assert.match((await cellText(page, 'agents')) ?? '', /reader \(1\)/);
    const pinned = await cellText(page, 'pinned_pod');
    assert.match(pinned ?? '', /^pod-\d$/);

    await call('critic');
    await until('the call count to change', async () => (await cellText(page, 'calls')) === '2');
    await until('the hit rate to change', async () => (await cellText(page, 'hit_rate')) !== firstHit);
    assert.match((await cellText(page, 'agents')) ?? '', /critic \(1\), reader \(1\)/);
    assert.equal(await cellText(page, 'pinned_pod'), pinned);

    // Same document, same page load: the updates came over the feed.
    assert.equal(await page.evaluate('window.__sameDocument === true'), true);
    assert.equal(loads, 1);
    assert.deepEqual(errors, []);

    const decisions = await page.locator('#decisions tbody tr').allTextContents();
    assert.ok(decisions.length >= 2);
    assert.match(decisions[0] ?? '', new RegExp(`${WORKFLOW}critic${pinned}pinnedok`));
    const pods = await page.locator('#pods tbody tr').allTextContents();
    assert.ok(pods.every((row) => row.includes('● healthy')));
  });

  test('keyboard, labels and contrast; then a screenshot of a busy dashboard', async () => {
    // Every table is captioned and every control has a name.
    assert.equal(await page.locator('table:not(:has(caption))').count(), 0);
    await page.getByLabel('Filter workflows by id or agent').fill('no-such-workflow');
    await until('the filter to apply', async () => (await page.locator('#workflows tbody tr').count()) === 0);
    assert.equal(await page.locator('#workflows-empty').textContent(), 'No workflow matches the filter.');
    await page.getByLabel('Filter workflows by id or agent').fill('');
    await until('the filter to clear', async () => (await cellText(page, 'calls')) !== null);

    // The pause button is reachable by Tab and works with Enter and Space.
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    let focused = '';
    for (let i = 0; i < 15 && focused !== 'pause'; i++) {
      await page.keyboard.press('Tab');
      focused = String(await page.evaluate('document.activeElement && document.activeElement.id'));
    }
    assert.equal(focused, 'pause');
    await page.keyboard.press('Enter');
    assert.equal(await page.locator('#pause').getAttribute('aria-pressed'), 'true');
    await page.keyboard.press('Space');
    assert.equal(await page.locator('#pause').getAttribute('aria-pressed'), 'false');

    // A few more workflows, so the screenshot shows a team at work.
    await runSupervisorWorkflow({
      routerUrl: stack.router.url,
      model: MODEL,
      workflowId: 'langgraph-team',
      apiKey: KEY,
    });
    await until(
      'the team to appear',
      async () => (await page.locator('#workflows tr[data-workflow-id="langgraph-team"]').count()) === 1,
    );
    await page.evaluate('document.activeElement && document.activeElement.blur()');

    for (const scheme of ['dark', 'light'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      const failures = await page.evaluate<string[]>(CONTRAST_CHECK);
      assert.deepEqual(failures, [], `${scheme} scheme: text below 4.5:1`);
    }

    mkdirSync(join(REPO_ROOT, 'test/artifacts'), { recursive: true });
    const path = join(REPO_ROOT, 'test/artifacts/dashboard.png');
    await page.screenshot({ path, fullPage: true });
    assert.ok(existsSync(path));
  });
});
