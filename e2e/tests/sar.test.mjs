// The privacy officer's subject access pages in a real headless Chromium: find
// an adult of the region by name and date of birth, produce their bundle in
// the browser (the same renderer as `sightline sar`, its stylesheet linked, no
// CSP violation), disclose one third party with a reason and see the
// disclosure in the next bundle, print the bundle to PDF; every page without
// serious axe violations and without sideways scrolling at 1366 and 320 px.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { App, seriousViolations, screenshot, horizontalOverflow } from './support.mjs';

let app;

before(async () => { app = await App.start(); });
after(async () => { await app?.stop(); });

const REASON = 'Subject access request SAR-2026-041 received by letter on 1 December.';
const DISCLOSE = 'The requester named this person in the request and they consented in writing.';

async function assertReadable(page, what) {
  const violations = await seriousViolations(page);
  assert.deepEqual(violations, [], `${what}: axe found serious or critical violations`);
  assert.deepEqual(page.cspViolations, [], `${what}: the page broke its CSP`);
}

async function assertFits(page, what) {
  for (const width of [1366, 320]) {
    await page.setViewportSize({ width, height: 900 });
    const overflow = await horizontalOverflow(page);
    assert.equal(overflow.scrolls, false, `${what} scrolls sideways at ${width} px: ${overflow.wide.join(', ')}`);
    await screenshot(page, `${what}-${width}`);
  }
}

/** A parent of the region with a full date of birth, named in social care records. */
function anAdult() {
  const lines = readFileSync(join(app.dir, 'region', 'social-care.jsonl'), 'utf8').split('\n').filter((line) => line.trim());
  for (const line of lines) {
    const record = JSON.parse(line);
    const parent = record.persons.find((person) => person.role === 'parent' && /^\d{4}-\d{2}-\d{2}$/.test(person.dob || '')
      && record.persons.length > 1);
    if (parent) return { name: `${parent.given_names} ${parent.family_name}`, dob: parent.dob };
  }
  throw new Error('no parent with a date of birth in the region');
}

test('the privacy officer finds an adult, produces the bundle, discloses a third party with a reason and prints it', async () => {
  const adult = anAdult();
  const page = await app.page();
  await app.signIn(page, 'privacy_officer');
  await page.click('header a[href="/privacy/sar"]');
  await page.waitForURL('**/privacy/sar');
  await assertReadable(page, 'subject access: find');
  await page.fill('#name', adult.name);
  await page.fill('#dob', adult.dob);
  await page.click('button:has-text("Search")');
  await page.waitForURL('**/privacy/sar?**');
  const found = page.locator('tbody tr a').first();
  assert.match(await found.textContent(), new RegExp(adult.name.split(' ').pop()));
  await assertReadable(page, 'subject access: found');
  await assertFits(page, 'sar-find');
  await page.setViewportSize({ width: 1100, height: 900 });
  await found.click();
  await page.waitForURL(/\/privacy\/sar\/p-[0-9a-f]{16}$/);
  const personPath = new URL(page.url()).pathname;
  assert.equal(await page.locator('h1').textContent(), adult.name);
  await assertReadable(page, 'subject access: person');
  await assertFits(page, 'sar-person');
  await page.setViewportSize({ width: 1100, height: 900 });

  // A reason that is not a sentence is a clear error.
  await page.fill('#bundle-reason', 'sar');
  await page.click('button:has-text("Show the bundle")');
  await page.waitForURL(`**${personPath}/bundle`);
  assert.match(await page.locator('.error-summary').textContent(), /The reason must be a sentence/);
  await assertReadable(page, 'subject access: refused');

  // The bundle in the browser: the CLI's page, third parties redacted.
  await page.fill('#bundle-reason', REASON);
  await page.click('button:has-text("Show the bundle")');
  await page.waitForURL(`**${personPath}/bundle`);
  assert.match(await page.locator('h1').textContent(), /^Subject access: what Sightline holds about person p-/);
  const bundle = await page.locator('main').textContent();
  assert.match(bundle, /\[redacted: third party\]/);
  assert.match(bundle, new RegExp(adult.name.split(' ')[0]));
  assert.equal(await page.locator('link[href="/static/sar.css"]').count(), 1);
  const item = (await page.locator('.item').first().textContent()).replace(/^\(item (.*)\)$/, '$1');
  assert.match(item, /^[a-z0-9-]+\/.+#.+$/, 'each third party is an item');
  await assertReadable(page, 'subject access: bundle');
  await assertFits(page, 'sar-bundle');

  // Print to PDF: the bundle's print stylesheet, one section a page.
  await page.setViewportSize({ width: 1100, height: 900 });
  await page.emulateMedia({ media: 'print' });
  const pdfPath = join(app.dir, 'sar.pdf');
  await page.pdf({ path: pdfPath, format: 'A4' });
  const pdf = readFileSync(pdfPath, 'latin1');
  const pages = (pdf.match(/\/Type\s*\/Page[^s]/g) || []).length;
  assert.ok(statSync(pdfPath).size > 10_000 && pages >= 3, `a PDF of ${pages} pages`);
  await page.emulateMedia({ media: 'screen' });

  // Disclose that third party, with a reason.
  await page.goto(personPath);
  await page.selectOption('#disclose-item', item);
  await page.fill('#disclose-reason', DISCLOSE);
  await page.click('button:has-text("Disclose")');
  await page.waitForURL(new RegExp(`${personPath}#disclosures$`));
  const disclosed = page.locator('#disclosures + table tbody tr', { hasText: DISCLOSE });
  assert.equal(await disclosed.count(), 1, 'the disclosure with its reason');
  await assertReadable(page, 'subject access: disclosed');

  // The next bundle shows and lists it.
  await page.fill('#bundle-reason', REASON);
  await page.click('button:has-text("Show the bundle")');
  await page.waitForURL(`**${personPath}/bundle`);
  assert.equal(await page.locator('#disclosures').textContent(), 'Third parties disclosed');
  assert.match(await page.locator('main').textContent(), new RegExp(DISCLOSE));
  assert.match(await page.locator('main').textContent(), /disclosed by the privacy officer/);
  await assertReadable(page, 'subject access: bundle with a disclosure');
  await page.context().close();
});
