// The linkage review queue in a real headless Chromium: a safeguarding lead opens
// the queue, decides a pair with a reason (by keyboard alone), sees it leave the
// queue and appear in the decisions, withdraws it (the pair comes back); a
// practitioner is refused; axe-core on every page.
//
// The region of support.mjs (60 children, seed 7) gives the queue pairs of its
// own: mentions recorded with and without a middle name ("Hayley Watson" and
// "Hayley Emma Watson"), scored between the thresholds by the model trained on
// it. (Pairs made up by hand, the same name with the day and month of birth
// swapped, fall between the thresholds of the reference model only: see the
// crate test crates/sightline-web/tests/review.rs.)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { App, SCREENSHOTS, seriousViolations } from './support.mjs';

let app;

before(async () => { app = await App.start(); });
after(async () => { await app?.stop(); });

async function assertAccessible(page, what) {
  const violations = await seriousViolations(page);
  assert.deepEqual(violations, [], `${what}: axe found serious or critical violations`);
  assert.deepEqual(page.cspViolations, [], `${what}: the page broke its CSP`);
}

/** Presses Tab until the element matching `selector` has the focus. */
async function tabTo(page, selector, maxPresses = 400) {
  for (let presses = 0; presses < maxPresses; presses += 1) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
    await page.keyboard.press('Tab');
  }
  assert.fail(`Tab never reached ${selector}`);
}

test('a safeguarding lead decides a pair by keyboard; it leaves the queue and can be withdrawn', async () => {
  const page = await app.page();
  await app.signIn(page, 'safeguarding_lead');
  await page.click('nav >> text=Linkage review');
  await page.waitForURL('**/linkage/review');
  assert.equal(await page.locator('h1').textContent(), 'Linkage review');
  const pairs = page.locator('section.review-pair');
  const before = await pairs.count();
  assert.ok(before > 0, 'the seeded region gives the queue at least one pair');
  const total = Number((await page.locator('#queue-count').textContent()).match(/^(\d+) pair/)[1]);
  assert.ok(total > 10, `more than a page of pairs (${total}): paging is shown`);
  await page.click('text=Next page');
  await page.waitForURL('**/linkage/review?page=2');
  assert.match(await page.locator('#queue-count').textContent(), /Showing 11 to/);
  await page.click('text=Previous page');
  await page.waitForURL('**/linkage/review?page=1');
  // Both mentions side by side, the waterfall with bars, weights said in words.
  const first = pairs.first();
  assert.match(await first.locator('table').first().textContent(), /Date of birth/);
  assert.ok(await first.locator('svg rect').count() > 1, 'a bar per field');
  assert.match(await first.locator('table').nth(1).textContent(), /for a match|against a match/);
  await assertAccessible(page, 'linkage review');
  if (SCREENSHOTS) {
    // The page down to the end of the first pair (ten pairs make a very long page).
    const box = await first.boundingBox();
    await page.screenshot({ path: join(SCREENSHOTS, 'linkage-review.png'), fullPage: true,
      clip: { x: 0, y: 0, width: 1100, height: Math.ceil(box.y + box.height + 16) } });
  }

  // Which pair is first: its two record keys.
  const left = await first.locator('input[name=left]').inputValue();
  const right = await first.locator('input[name=right]').inputValue();

  // Refused without a reason: the error is shown, nothing is recorded.
  await first.locator('input[value=non_match]').check();
  await first.locator('button[type=submit]').click();
  await page.waitForLoadState();
  assert.match(await page.locator('.error-summary').textContent(), /There is a problem/);
  assert.match(await page.locator('.error-message').first().textContent(), /Enter the reason/);
  await assertAccessible(page, 'linkage review (error)');

  // Keyboard only: from the top of the page to the first pair's radios, reason and button.
  await page.goto('/linkage/review');
  await page.keyboard.press('Tab');
  await tabTo(page, '#verdict-1-non-match, #verdict-1');
  await page.focus('#verdict-1');
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'verdict-1-non-match');
  assert.ok(await page.isChecked('#verdict-1-non-match'));
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'reason-1');
  await page.keyboard.type('Different schools and GP practices confirmed by phone (synthetic).');
  await page.keyboard.press('Tab');
  assert.match(await page.evaluate(() => document.activeElement.textContent), /Record decision on pair 1/);
  await page.keyboard.press('Enter');
  await page.waitForURL('**/linkage/review?decided=non_match*');
  assert.match(await page.locator('.notification-banner').textContent(), /Decision recorded/);
  const after = Number((await page.locator('#queue-count').textContent().catch(() => '0 pair')).match(/^(\d+) pair/)[1]);
  assert.equal(after, total - 1, 'the pair left the queue');
  const keysLeft = await page.locator('input[name=left]').evaluateAll((inputs) => inputs.map((input) => input.value));
  const keysRight = await page.locator('input[name=right]').evaluateAll((inputs) => inputs.map((input) => input.value));
  assert.ok(!keysLeft.some((key, idx) => key === left && keysRight[idx] === right), 'the decided pair is gone');
  await assertAccessible(page, 'linkage review (decided)');

  // The decision is listed with who, when and why, and can be withdrawn.
  await page.click('text=See recent decisions');
  await page.waitForURL('**/linkage/decisions');
  const row = page.locator('table tbody tr').first();
  assert.match(await row.textContent(), /Not the same person/);
  assert.match(await row.textContent(), /Different schools and GP practices/);
  assert.match(await row.textContent(), new RegExp(app.accounts.safeguarding_lead.username.replace('.', '\\.')));
  await assertAccessible(page, 'linkage decisions');
  await row.locator('input[name=reason]').fill('Recorded on the wrong pair (synthetic).');
  await row.locator('button[type=submit]').click();
  await page.waitForURL('**/linkage/decisions?withdrawn=1');
  assert.match(await page.locator('.notification-banner').textContent(), /Decision withdrawn/);
  const rows = page.locator('table tbody tr');
  assert.match(await rows.nth(0).textContent(), /Withdrawn/);
  assert.match(await rows.nth(1).textContent(), /Not the same person/, 'the decision itself stays listed');
  await assertAccessible(page, 'linkage decisions (withdrawn)');
  await page.goto('/linkage/review');
  const back = Number((await page.locator('#queue-count').textContent()).match(/^(\d+) pair/)[1]);
  assert.equal(back, total, 'the withdrawn pair is back in the queue');
  await page.context().close();
});

test('a practitioner may not review linkage', async () => {
  const page = await app.page();
  await app.signIn(page, 'practitioner');
  assert.equal(await page.locator('nav >> text=Linkage review').count(), 0, 'no nav link');
  const response = await page.goto('/linkage/review');
  assert.equal(response.status(), 403);
  await assertAccessible(page, 'linkage review (refused)');
  await page.context().close();
});
