/**
 * nbrepro in a real JupyterLab (Debian's Chromium): capture a run that reads a Delta
 * table, find it in the sidebar, see the data drift after the nightly append,
 * re-execute it pinned to the version it read and get the verdict `reproduced`.
 */
import { expect, galata, IJupyterLabPageFixture, test as base } from '@jupyterlab/galata';
import { execFileSync } from 'child_process';
import * as path from 'path';

const NOTEBOOK = 'wine.ipynb';
// README screenshots: written to docs/images only when asked (`make screenshots`).
const IMAGES = process.env.NBREPRO_SCREENSHOTS
  ? path.resolve(__dirname, '..', '..', 'docs', 'images')
  : path.resolve(__dirname, '..', 'test-results', 'screenshots');

// For README pictures, each test works in a folder named as a user's project would be
// (shown as ~/projects/wine-quality/lake/wine), not galata's per-test folder named after
// the test. One name per test: the store keeps every test's runs, by notebook path.
const PROJECTS: Record<string, string> = {
  'capture, drift, re-execute and verdict': 'wine-quality',
  'the card re-executes in place, and the sidebar keeps up': 'wine-model',
  'a capture the store cannot take waits in the spool': 'offline',
  'a run stored after the cell: the card says storing, then stored': 'churn',
  'Capture run records the kernel session without a magic': 'wine-session',
  'a printed time differs, and the report says it is volatile': 'training',
  're-executed twice, a notebook printing the time is told nondeterministic': 'training-2',
  'a failure the rerun repeats is a reproduction, and is named': 'training-3',
  'a model that does not reproduce makes the report differ (model)': 'regression',
  'a Spark read is captured, shown and re-executed pinned': 'wine-spark',
  'Notebook 7: the card re-executes and the sidebar lists the run': 'wine-nb7',
  'after `nbrepro demo`, the sidebar tells its story': 'nbrepro-demo',
  'a plot drawn from unseeded data: both images side by side, and their pixel diff': 'loss-curves',
  'a vacuumed version: marked before the click, then one button re-executes on the latest': 'orders'
};
const test = process.env.NBREPRO_SCREENSHOTS
  ? base.extend({
      tmpPath: async ({ request }, use, testInfo) => {
        const folder = PROJECTS[testInfo.title];
        if (!folder) {
          throw new Error(`no project folder named for "${testInfo.title}" in PROJECTS`);
        }
        const contents = galata.newContentsHelper(request);
        if (await contents.directoryExists(folder)) {
          await contents.deleteDirectory(folder);
        }
        await contents.createDirectory(folder);
        await use(folder);
        await contents.deleteDirectory(folder);
      }
    })
  : base;

test.use({ autoGoto: true, viewport: { width: 1440, height: 900 } });

/** Open the wine notebook and run its first cells (0: write the table at v0). */
async function openWine(
  page: IJupyterLabPageFixture,
  tmpPath: string,
  cells: number[]
): Promise<void> {
  await page.contents.uploadFile(
    path.resolve(__dirname, 'notebooks', NOTEBOOK),
    `${tmpPath}/${NOTEBOOK}`
  );
  await page.notebook.openByPath(`${tmpPath}/${NOTEBOOK}`);
  await page.notebook.activate(NOTEBOOK);
  for (const cell of cells) {
    await page.notebook.runCell(cell);
  }
}

test('capture, drift, re-execute and verdict', async ({ page, tmpPath }) => {
  await openWine(page, tmpPath, [0, 1, 2]); // the table at v0, %load_ext, %%repro
  const card = page.locator('.nbrepro-card');
  await expect(card).toBeVisible();
  await expect(card).toContainText('ui-baseline');
  await expect(card).toContainText('@ v0');
  await expect(card.locator('.nbrepro-card-rerun')).toBeVisible();
  await expect(card).not.toContainText('Warning'); // logged, not spooled

  // The sidebar follows the notebook in focus and lists the new run.
  await page.locator('.lm-TabBar-tab[data-id="nbrepro-sidebar"]').click();
  const sidebar = page.getByTestId('nbrepro-sidebar');
  await expect(sidebar).toBeVisible();
  const row = sidebar.getByTestId('nbrepro-run-row').first();
  await expect(row).toContainText('ui-baseline');
  await expect(row.getByTestId('nbrepro-verdict')).toHaveAttribute('data-verdict', 'none');
  await expect(row.getByTestId('nbrepro-drift-warning')).toHaveCount(0);
  const runId = await row.getAttribute('data-run-id');
  expect(runId).toMatch(/^[0-9a-f]{32}$/);

  // Its details: the code, the Delta table at the version read.
  await row.getByTestId('nbrepro-run-name').click();
  const details = sidebar.getByTestId('nbrepro-run-details');
  await expect(details).toBeVisible();
  await expect(details.getByTestId('nbrepro-section-data')).toContainText('v0');
  await expect(details.getByTestId('nbrepro-section-metrics')).toContainText('mean_quality');

  // The nightly job appends rows: the table moves to v1 and the run is flagged.
  await page.notebook.runCell(3);
  await sidebar.getByTestId('nbrepro-back-button').click();
  await sidebar.getByTestId('nbrepro-refresh-button').click();
  await expect(row.getByTestId('nbrepro-drift-warning')).toBeVisible();
  await row.getByTestId('nbrepro-run-name').click();
  await expect(details.getByTestId('nbrepro-section-data')).toContainText('table now at v1');

  // Re-execute pinned to v0: the verdict comes back in place.
  await details.getByTestId('nbrepro-rerun-button').click();
  await expect(details.getByTestId('nbrepro-progress')).toBeVisible();
  const verdict = details.getByTestId('nbrepro-report-verdict');
  await expect(verdict).toHaveAttribute('data-verdict', 'reproduced', { timeout: 180000 });
  await page.screenshot({ path: path.join(IMAGES, 'sidebar.png') });

  // The list shows the verdict of the run's latest rerun.
  await sidebar.getByTestId('nbrepro-back-button').click();
  await sidebar.getByTestId('nbrepro-refresh-button').click();
  const original = sidebar.locator(`[data-testid="nbrepro-run-row"][data-run-id="${runId}"]`);
  await expect(original.getByTestId('nbrepro-verdict')).toHaveAttribute(
    'data-verdict',
    'reproduced'
  );
  await expect(original.getByTestId('nbrepro-drift-warning')).toBeVisible();
  // The rerun is listed too, newest first, named by the data it read.
  await expect(sidebar.getByTestId('nbrepro-run-row').first()).toContainText('rerun · pinned v0');

  // Re-executed on the latest data: it differs, and the report says by how much.
  await original.getByTestId('nbrepro-run-name').click();
  await details.getByTestId('nbrepro-rerun-data').selectOption('latest');
  await details.getByTestId('nbrepro-rerun-button').click();
  await expect(verdict).toHaveAttribute('data-verdict', 'differs', { timeout: 180000 });
  await expect(verdict).toHaveText('Differs in data, params, metrics');
  const metrics = sidebar.locator('[data-testid="nbrepro-report-section"][data-section="metrics"]');
  // mean_quality 5.333… -> 6 (the appended row's quality is 8)
  await expect(metrics.getByTestId('nbrepro-value-change')).toHaveText('+0.666667 (+12.5%)');
  await expect(metrics.getByTestId('nbrepro-tolerance')).toHaveText(
    'compared exactly (no tolerance)'
  );
  await metrics.screenshot({ path: path.join(IMAGES, 'report-metrics.png') });

  // The list tells "reproduced when pinned" from "differs on the data of today".
  await sidebar.getByTestId('nbrepro-back-button').click();
  await expect(original.getByTestId('nbrepro-verdict')).toHaveText('reproduced (pinned)');
  await expect(original.getByTestId('nbrepro-verdict-latest')).toHaveText('differs on latest v1');
  await expect(sidebar.getByTestId('nbrepro-run-row').first()).toContainText('rerun · latest v1');
  await sidebar.screenshot({ path: path.join(IMAGES, 'sidebar-list.png') });
  await page.theme.setDarkTheme();
  await sidebar.screenshot({ path: path.join(IMAGES, 'sidebar-list-dark.png') });
  await page.theme.setLightTheme();
});

/** The perceived lightness (0 black - 1 white) of an element's background colour. */
async function backgroundLightness(locator: import('@playwright/test').Locator): Promise<number> {
  const rgb = await locator.evaluate(el => getComputedStyle(el).backgroundColor);
  const [r, g, b] = (rgb.match(/[\d.]+/g) ?? ['0', '0', '0']).map(Number);
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}

test('the card re-executes in place, and the sidebar keeps up', async ({ page, tmpPath }) => {
  await openWine(page, tmpPath, [0, 1, 2]); // the table at v0, %load_ext, %%repro
  await page.locator('.lm-TabBar-tab[data-id="nbrepro-sidebar"]').click();
  const sidebar = page.getByTestId('nbrepro-sidebar');
  const rows = sidebar.getByTestId('nbrepro-run-row');
  await expect(rows).toHaveCount(1);
  const card = page.locator('.nbrepro-card');
  await card.locator('.nbrepro-card-rerun').click();
  const cardVerdict = card.locator('.nbrepro-card-verdict');
  await expect(cardVerdict).toContainText('reproduced', { timeout: 180000 });
  // The same colour as the sidebar's chip for the same verdict.
  const chip = cardVerdict.locator('.nbrepro-verdict-reproduced');
  await expect(chip).toBeVisible();
  await card.screenshot({ path: path.join(IMAGES, 'card.png') });
  await page.theme.setDarkTheme();
  await card.screenshot({ path: path.join(IMAGES, 'card-dark.png') });
  await page.theme.setLightTheme();

  // The sidebar lists the card's rerun and its verdict by itself: no refresh clicked.
  await expect(rows).toHaveCount(2, { timeout: 30000 });
  await expect(rows.first()).toContainText('rerun · pinned v0');
  const original = rows.nth(1);
  await expect(original.getByTestId('nbrepro-verdict')).toHaveText('reproduced (pinned)', {
    timeout: 30000
  });
  const sidebarChip = original.getByTestId('nbrepro-verdict');
  const colour = (l: import('@playwright/test').Locator) =>
    l.evaluate(el => getComputedStyle(el).backgroundColor);
  expect(await colour(chip)).toBe(await colour(sidebarChip));

  // The card's "full report" opens the run in the sidebar, with the card's rerun report.
  await cardVerdict.getByText('full report').click();
  const details = sidebar.getByTestId('nbrepro-run-details');
  await expect(details.getByTestId('nbrepro-report-verdict')).toHaveAttribute(
    'data-verdict',
    'reproduced'
  );
  // Run ids link to their runs: the rerun's details, and from there back to the original.
  const title = sidebar.locator('.nbrepro-run-title');
  await details.getByTestId('nbrepro-report').getByTestId('nbrepro-run-link').first().click();
  await expect(title).toHaveText('rerun of ui-baseline · pinned v0');
  await details.getByTestId('nbrepro-reproduces').getByTestId('nbrepro-run-link').click();
  await expect(title).toHaveText('ui-baseline');

  // Open captured notebook: a copy, no kernel started, a banner naming the run.
  await details.getByTestId('nbrepro-open-notebook').click();
  const banner = page.getByTestId('nbrepro-copy-banner');
  await expect(banner).toBeVisible();
  await expect(banner).toContainText('A copy of run ui-baseline');
  await expect(banner).toContainText('No kernel was started');
  await expect(page.locator('.jp-NotebookPanel:visible .jp-Toolbar-kernelName')).toContainText(
    'No Kernel'
  );
  // The sidebar shows the run the copy is of.
  await expect(details).toBeVisible();
  await expect(title).toHaveText('ui-baseline');
  await banner.screenshot({ path: path.join(IMAGES, 'copy-banner.png') });

  // Capture run on the copy: no kernel, said once, with what to do; dark in the dark theme.
  await sidebar.getByTestId('nbrepro-capture-button').click();
  const status = sidebar.getByTestId('nbrepro-capture-status');
  await expect(status).toContainText('has no running kernel: nothing ran in it to capture');
  await expect(status).toContainText('Start its kernel');
  await page.theme.setDarkTheme();
  expect(await backgroundLightness(status.locator('.nbrepro-problem'))).toBeLessThan(0.35);
  await banner.screenshot({ path: path.join(IMAGES, 'copy-banner-dark.png') });
  await status.screenshot({ path: path.join(IMAGES, 'no-kernel-dark.png') });
  await page.theme.setLightTheme();
  // Tied to its notebook: back on wine.ipynb, the banner is not there.
  await page.notebook.activate(NOTEBOOK);
  await expect(status).toHaveCount(0);
});

test('a capture the store cannot take waits in the spool', async ({ page, tmpPath }) => {
  const name = 'spooled.ipynb';
  await page.contents.uploadFile(path.resolve(__dirname, 'notebooks', name), `${tmpPath}/${name}`);
  await page.notebook.openByPath(`${tmpPath}/${name}`);
  await page.notebook.activate(name);
  await page.notebook.runCell(0); // %load_ext, a tracking URI nothing listens on
  await page.notebook.runCell(1); // %%repro
  const card = page.locator('.nbrepro-card');
  await expect(card).toBeVisible();
  await expect(card).toContainText('offline-train');
  await expect(card).toContainText('not uploaded');
  await expect(card).toContainText('nbrepro sync');
  // Nothing in the store to re-execute until it is synced.
  await expect(card.locator('.nbrepro-card-rerun')).toBeDisabled();
  await card.screenshot({ path: path.join(IMAGES, 'card-spooled.png') });
  await page.theme.setDarkTheme();
  await card.screenshot({ path: path.join(IMAGES, 'card-spooled-dark.png') });
  await page.theme.setLightTheme();
});

test('a run stored after the cell: the card says storing, then stored', async ({
  page,
  tmpPath
}) => {
  const name = 'after_cell.ipynb';
  await page.contents.uploadFile(path.resolve(__dirname, 'notebooks', name), `${tmpPath}/${name}`);
  await page.notebook.openByPath(`${tmpPath}/${name}`);
  await page.notebook.activate(name);
  await page.locator('.lm-TabBar-tab[data-id="nbrepro-sidebar"]').click();
  const sidebar = page.getByTestId('nbrepro-sidebar');
  await page.notebook.runCell(0); // %load_ext, the store held
  await page.notebook.runCell(1); // %%repro: returns before the run is stored (the default)
  const card = page.locator('.nbrepro-card');
  await expect(card).toContainText('after-cell');
  await expect(card).toContainText('storing the run');
  await expect(card.locator('.nbrepro-card-rerun')).toBeDisabled();
  // The sidebar lists the run as the cell returns, still running.
  const row = sidebar.getByTestId('nbrepro-run-row').first();
  await expect(row.getByTestId('nbrepro-run-status')).toHaveText('running');
  await card.screenshot({ path: path.join(IMAGES, 'card-storing.png') });
  await page.theme.setDarkTheme();
  await card.screenshot({ path: path.join(IMAGES, 'card-storing-dark.png') });
  await page.theme.setLightTheme();
  await page.notebook.runCell(2); // the store goes on
  await expect(card).not.toContainText('storing the run');
  await expect(card.locator('.nbrepro-card-rerun')).toBeEnabled();
  // The sidebar looks again by itself while the run is running: no refresh clicked.
  await expect(row.getByTestId('nbrepro-run-status')).toHaveText('finished', {
    timeout: 30000
  });
  await card.screenshot({ path: path.join(IMAGES, 'card-stored.png') });
  await page.theme.setDarkTheme();
  await card.screenshot({ path: path.join(IMAGES, 'card-stored-dark.png') });
  await page.theme.setLightTheme();
});

test('Capture run records the kernel session without a magic', async ({ page, tmpPath }) => {
  await openWine(page, tmpPath, [0]); // only the setup cell: no %load_ext, no %%repro
  await page.locator('.lm-TabBar-tab[data-id="nbrepro-sidebar"]').click();
  const sidebar = page.getByTestId('nbrepro-sidebar');
  await expect(sidebar.getByTestId('nbrepro-empty')).toBeVisible();

  await sidebar.getByTestId('nbrepro-capture-button').click();
  await expect(sidebar.getByTestId('nbrepro-capture-status')).toContainText('Captured run', {
    timeout: 120000
  });
  // The new run opens, with the one cell the kernel ran.
  const details = sidebar.getByTestId('nbrepro-run-details');
  await expect(details.getByTestId('nbrepro-section-code')).toContainText('1 cell');
  await sidebar.getByTestId('nbrepro-back-button').click();
  await expect(sidebar.getByTestId('nbrepro-run-row')).toHaveCount(1);
  // The notebook shows nothing of the capture: no card, no output.
  await expect(page.locator('.nbrepro-card')).toHaveCount(0);
});

/** Open verdicts.ipynb, run `cells`, and re-execute the newest run from the sidebar. */
async function reexecuteNewest(
  page: IJupyterLabPageFixture,
  tmpPath: string,
  cells: number[],
  verdict: string
): Promise<void> {
  const name = 'verdicts.ipynb';
  await page.contents.uploadFile(path.resolve(__dirname, 'notebooks', name), `${tmpPath}/${name}`);
  await page.notebook.openByPath(`${tmpPath}/${name}`);
  await page.notebook.activate(name);
  for (const cell of cells) {
    await page.notebook.runCell(cell);
  }
  await page.locator('.lm-TabBar-tab[data-id="nbrepro-sidebar"]').click();
  const sidebar = page.getByTestId('nbrepro-sidebar');
  await sidebar.getByTestId('nbrepro-run-row').first().getByTestId('nbrepro-run-name').click();
  const details = sidebar.getByTestId('nbrepro-run-details');
  await details.getByTestId('nbrepro-rerun-button').click();
  await expect(details.getByTestId('nbrepro-report-verdict')).toHaveAttribute(
    'data-verdict',
    verdict,
    { timeout: 180000 }
  );
}

/** The report in the sidebar, in the light theme and then in the dark one. */
async function shoot(page: IJupyterLabPageFixture, name: string): Promise<void> {
  const report = page.getByTestId('nbrepro-sidebar').getByTestId('nbrepro-report');
  await report.screenshot({ path: path.join(IMAGES, `${name}.png`) });
  await page.theme.setDarkTheme();
  await report.screenshot({ path: path.join(IMAGES, `${name}-dark.png`) });
  await page.theme.setLightTheme();
}

test('a printed time differs, and the report says it is volatile', async ({ page, tmpPath }) => {
  await reexecuteNewest(page, tmpPath, [0, 1], 'differs');
  const sidebar = page.getByTestId('nbrepro-sidebar');
  await expect(sidebar.getByTestId('nbrepro-report-volatile')).toContainText(
    'Only volatile values differ (times)'
  );
  const outputs = sidebar.locator('[data-testid="nbrepro-report-section"][data-section="outputs"]');
  await expect(outputs).toContainText('(volatile: times)');
  await shoot(page, 'report-volatile');
});

test('re-executed twice, a notebook printing the time is told nondeterministic', async ({
  page,
  tmpPath
}) => {
  const name = 'verdicts.ipynb';
  await page.contents.uploadFile(path.resolve(__dirname, 'notebooks', name), `${tmpPath}/${name}`);
  await page.notebook.openByPath(`${tmpPath}/${name}`);
  await page.notebook.activate(name);
  for (const cell of [0, 1]) {
    await page.notebook.runCell(cell);
  }
  await page.locator('.lm-TabBar-tab[data-id="nbrepro-sidebar"]').click();
  const sidebar = page.getByTestId('nbrepro-sidebar');
  await sidebar.getByTestId('nbrepro-run-row').first().getByTestId('nbrepro-run-name').click();
  const details = sidebar.getByTestId('nbrepro-run-details');
  await details.getByTestId('nbrepro-rerun-repeat').selectOption('2');
  await details.getByTestId('nbrepro-rerun-button').click();
  await expect(details.getByTestId('nbrepro-report-verdict')).toHaveAttribute(
    'data-verdict',
    'differs',
    { timeout: 300000 }
  );
  const repeat = details.getByTestId('nbrepro-report-repeat');
  await expect(repeat).toHaveAttribute('data-agree', 'false');
  await expect(repeat).toContainText('Nondeterministic: the 2 reruns disagree among themselves');
  await shoot(page, 'report-repeat');
});

test('a failure the rerun repeats is a reproduction, and is named', async ({ page, tmpPath }) => {
  await reexecuteNewest(page, tmpPath, [0, 2], 'reproduced');
  const sidebar = page.getByTestId('nbrepro-sidebar');
  await expect(sidebar.getByTestId('nbrepro-report-failure-reproduced')).toContainText(
    "The original's failure reproduced: In [2] (cell 3) raised AssertionError: no rows to train on"
  );
  await shoot(page, 'report-failure-reproduced');
});

test('a model that does not reproduce makes the report differ (model)', async ({
  page,
  tmpPath
}) => {
  await reexecuteNewest(page, tmpPath, [0, 3, 4], 'differs'); // 4: registers its model
  const sidebar = page.getByTestId('nbrepro-sidebar');
  const model = sidebar.locator('[data-testid="nbrepro-report-section"][data-section="model"]');
  await expect(model).toHaveAttribute('data-same', 'false');
  await expect(model).toContainText('model: predictions differ (max difference 0.5)');
  // Everything the notebook printed is the same: the model is what differs.
  const outputs = sidebar.locator('[data-testid="nbrepro-report-section"][data-section="outputs"]');
  await expect(outputs).toHaveAttribute('data-same', 'true');
  await shoot(page, 'report-model');
  // The run's details name the model version registered from it.
  const registered = sidebar.getByTestId('nbrepro-model-version');
  await expect(registered.first()).toContainText('drifting-line v1');
  await expect(registered.first()).toContainText('not checked');
  const section = sidebar.getByTestId('nbrepro-section-models');
  await section.screenshot({ path: path.join(IMAGES, 'details-models.png') });
  await page.theme.setDarkTheme();
  await section.screenshot({ path: path.join(IMAGES, 'details-models-dark.png') });
  await page.theme.setLightTheme();
});

test('a Spark read is captured, shown and re-executed pinned', async ({ page, tmpPath }) => {
  const name = 'wine_spark.ipynb';
  await page.contents.uploadFile(path.resolve(__dirname, 'notebooks', name), `${tmpPath}/${name}`);
  await page.notebook.openByPath(`${tmpPath}/${name}`);
  await page.notebook.activate(name);
  for (const cell of [0, 1, 2]) {
    await page.notebook.runCell(cell); // the table written with Spark, %load_ext, %%repro
  }
  const card = page.locator('.nbrepro-card');
  await expect(card).toContainText('spark-baseline');
  await expect(card).toContainText('wine @ v0 (Spark)');
  // With the Spark Connect client installed, nothing of nbrepro's background work (the
  // HTML rendered and uploaded after the cell) lands in a later cell or on the card.
  const nbreproStderr = page.locator(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]',
    { hasText: /nbrepro|SPARK_HOME|SystemExit/ }
  );

  await page.locator('.lm-TabBar-tab[data-id="nbrepro-sidebar"]').click();
  const sidebar = page.getByTestId('nbrepro-sidebar');
  const row = sidebar.getByTestId('nbrepro-run-row').first();
  await expect(row).toContainText('spark-baseline');
  await row.getByTestId('nbrepro-run-name').click();
  const details = sidebar.getByTestId('nbrepro-run-details');
  const data = details.getByTestId('nbrepro-section-data');
  await expect(data).toContainText('v0');
  await expect(data.getByTestId('nbrepro-read-via')).toHaveText(' · via spark · table wine');

  // The nightly append through Spark moves the table; re-execute pinned to v0.
  await page.notebook.runCell(3);
  await expect(card).not.toContainText('storing the run');
  await expect(card.locator('.nbrepro-card-note')).toHaveCount(0);
  await expect(nbreproStderr).toHaveCount(0);
  await sidebar.getByTestId('nbrepro-back-button').click();
  await sidebar.getByTestId('nbrepro-refresh-button').click();
  await row.getByTestId('nbrepro-run-name').click();
  await expect(data).toContainText('table now at v1');
  await data.screenshot({ path: path.join(IMAGES, 'data-spark.png') });
  await page.theme.setDarkTheme();
  await data.screenshot({ path: path.join(IMAGES, 'data-spark-dark.png') });
  await page.theme.setLightTheme();
  await details.getByTestId('nbrepro-rerun-button').click();
  await expect(details.getByTestId('nbrepro-report-verdict')).toHaveAttribute(
    'data-verdict',
    'reproduced',
    { timeout: 180000 }
  );
  const dataReport = sidebar.locator('[data-testid="nbrepro-report-section"][data-section="data"]');
  await expect(dataReport).toBeVisible();
  await expect(nbreproStderr).toHaveCount(0);
});

test('Notebook 7: the card re-executes and the sidebar lists the run', async ({
  page,
  tmpPath,
  baseURL
}) => {
  // The same server serves Notebook 7 (`jupyter notebook`'s pages) next to JupyterLab.
  await page.contents.uploadFile(
    path.resolve(__dirname, 'notebooks', NOTEBOOK),
    `${tmpPath}/${NOTEBOOK}`
  );
  const nb7 = await page.context().newPage();
  await nb7.goto(`${baseURL}/notebooks/${tmpPath}/${NOTEBOOK}`);
  // Notebook 7's own shell, not JupyterLab's.
  await expect(nb7.locator('#main-panel .jp-NotebookPanel')).toBeVisible({ timeout: 60000 });
  await expect(nb7.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]')).toBeVisible({
    timeout: 60000
  });
  const cells = nb7.locator('.jp-Notebook .jp-Cell');
  for (const i of [0, 1, 2]) {
    // the table at v0, %load_ext, %%repro
    await cells.nth(i).locator('.jp-InputArea-editor').click();
    await nb7.keyboard.press('Control+Enter');
    await expect(cells.nth(i).locator('.jp-InputPrompt')).toHaveText(/\[\d+\]/, {
      timeout: 120000
    });
  }
  const card = nb7.locator('.nbrepro-card');
  await expect(card).toContainText('ui-baseline');
  await expect(card).toContainText('@ v0');

  // The sidebar is in Notebook 7's left panel: View > Left Sidebar > Show nbrepro.
  await nb7.locator('.lm-MenuBar-itemLabel', { hasText: 'View' }).click();
  await nb7.locator('.lm-Menu-itemLabel', { hasText: 'Left Sidebar' }).hover();
  await nb7.locator('.lm-Menu-itemLabel', { hasText: 'Show nbrepro' }).click();
  const sidebar = nb7.getByTestId('nbrepro-sidebar');
  await expect(sidebar).toBeVisible();
  const row = sidebar.getByTestId('nbrepro-run-row').first();
  await expect(row).toContainText('ui-baseline');

  // The card re-executes in place; the sidebar lists the rerun.
  await card.locator('.nbrepro-card-rerun').click();
  await expect(card.locator('.nbrepro-card-verdict')).toContainText('reproduced', {
    timeout: 180000
  });
  await sidebar.getByTestId('nbrepro-refresh-button').click();
  await expect(sidebar.getByTestId('nbrepro-run-row').first()).toContainText('rerun · pinned v0');
  // Not a README picture: the card shows the test's own store path.
  await nb7.screenshot({ path: path.join(__dirname, '..', 'test-results', 'notebook7.png') });
  await nb7.close();
});

test('after `nbrepro demo`, the sidebar tells its story', async ({ page, tmpPath }) => {
  // The demo as a user runs it (`make demo`), into a folder under this server's root and
  // the server's store; then the demo notebook opened as `make lab` opens it.
  const root = process.env.JUPYTERLAB_GALATA_ROOT_DIR ?? '';
  const ui = process.env.NBREPRO_UI_TMP ?? '';
  test.skip(!root || !ui, "needs the Makefile's JUPYTERLAB_GALATA_ROOT_DIR and NBREPRO_UI_TMP");
  execFileSync('nbrepro', ['demo', '--dir', path.join(root, tmpPath, 'demo')], {
    // The server's store (jupyter_server_test_config.py).
    env: {
      ...process.env,
      NBREPRO_HOME: process.env.NBREPRO_SCREENSHOTS
        ? path.join(ui, 'home', '.local', 'share', 'nbrepro')
        : path.join(ui, 'nbrepro-home')
    },
    stdio: 'pipe',
    timeout: 240000
  });
  await page.notebook.openByPath(`${tmpPath}/demo/demo.ipynb`);
  await page.notebook.activate('demo.ipynb');
  await page.locator('.lm-TabBar-tab[data-id="nbrepro-sidebar"]').click();
  const sidebar = page.getByTestId('nbrepro-sidebar');
  const rows = sidebar.getByTestId('nbrepro-run-row');
  await expect(rows).toHaveCount(3);
  // Newest first: the rerun on the latest data, the pinned rerun, the captured run.
  await expect(rows.nth(0).getByTestId('nbrepro-verdict')).toHaveAttribute(
    'data-verdict',
    'differs'
  );
  await expect(rows.nth(1).getByTestId('nbrepro-verdict')).toHaveAttribute(
    'data-verdict',
    'reproduced'
  );
  await expect(rows.nth(2)).toContainText('wine-classifier');
  // The captured run: reproduced when pinned, differs on the data of today.
  await expect(rows.nth(2).getByTestId('nbrepro-verdict')).toHaveText('reproduced (pinned)');
  await expect(rows.nth(2).getByTestId('nbrepro-verdict-latest')).toHaveText(
    'differs on latest v1'
  );
  await page.screenshot({ path: path.join(IMAGES, 'demo-sidebar.png') });
});

/** Upload a notebook of ui-tests/tests/notebooks, open it and run `cells`. */
async function openAndRun(
  page: IJupyterLabPageFixture,
  tmpPath: string,
  name: string,
  cells: number[]
): Promise<void> {
  await page.contents.uploadFile(path.resolve(__dirname, 'notebooks', name), `${tmpPath}/${name}`);
  await page.notebook.openByPath(`${tmpPath}/${name}`);
  await page.notebook.activate(name);
  for (const cell of cells) {
    await page.notebook.runCell(cell);
  }
}

test('a plot drawn from unseeded data: both images side by side, and their pixel diff', async ({
  page,
  tmpPath
}) => {
  // Cell 1 of the notebook is markdown: the plot is JupyterLab's cell 3, In [2].
  await openAndRun(page, tmpPath, 'plots.ipynb', [1, 2]);
  await expect(page.locator('.nbrepro-card')).toContainText('noisy-plot');
  await page.locator('.lm-TabBar-tab[data-id="nbrepro-sidebar"]').click();
  const sidebar = page.getByTestId('nbrepro-sidebar');
  await sidebar.getByTestId('nbrepro-run-row').first().getByTestId('nbrepro-run-name').click();
  const details = sidebar.getByTestId('nbrepro-run-details');
  await details.getByTestId('nbrepro-rerun-button').click();
  await expect(details.getByTestId('nbrepro-report-verdict')).toHaveAttribute(
    'data-verdict',
    'differs',
    { timeout: 180000 }
  );
  const outputs = sidebar.locator('[data-testid="nbrepro-report-section"][data-section="outputs"]');
  const cell = outputs.getByTestId('nbrepro-output-cell').first();
  await expect(cell.getByTestId('nbrepro-output-cell-label')).toContainText('In [2] (cell 3)');
  await expect(cell.getByTestId('nbrepro-output-cell-label')).toContainText('images differ');
  // Both images shown, decoded, side by side; then how many of their pixels differ.
  const pair = cell.getByTestId('nbrepro-image-pair').first();
  for (const side of ['nbrepro-image-original', 'nbrepro-image-rerun']) {
    const img = pair.getByTestId(side).locator('img');
    await expect(img).toBeVisible();
    expect(await img.evaluate(el => (el as HTMLImageElement).naturalWidth)).toBeGreaterThan(100);
  }
  const [left, right] = await Promise.all(
    ['nbrepro-image-original', 'nbrepro-image-rerun'].map(side =>
      pair.getByTestId(side).locator('img').boundingBox()
    )
  );
  expect(left && right && right.x > left.x + left.width / 2).toBeTruthy(); // side by side
  expect(left && right && Math.abs(right.y - left.y) < 2).toBeTruthy();
  await expect(pair.getByTestId('nbrepro-image-diff-summary')).toHaveText(
    /^[\d,]+ of [\d,]+ pixels? differ/
  );
  await expect(pair.getByTestId('nbrepro-image-diff').locator('canvas')).toBeVisible();
  await cell.screenshot({ path: path.join(IMAGES, 'report-images.png') });
  await page.theme.setDarkTheme();
  await cell.screenshot({ path: path.join(IMAGES, 'report-images-dark.png') });
  await page.theme.setLightTheme();
});

test('a vacuumed version: marked before the click, then one button re-executes on the latest', async ({
  page,
  tmpPath
}) => {
  // v0 captured; then the nightly job appends, deletes and vacuums: v0's files are gone.
  await openAndRun(page, tmpPath, 'vacuumed.ipynb', [0, 1, 2, 3]);
  await page.locator('.lm-TabBar-tab[data-id="nbrepro-sidebar"]').click();
  const sidebar = page.getByTestId('nbrepro-sidebar');
  await sidebar.getByTestId('nbrepro-refresh-button').click();
  await sidebar.getByTestId('nbrepro-run-row').first().getByTestId('nbrepro-run-name').click();
  const details = sidebar.getByTestId('nbrepro-run-details');
  // The Data section says, before any click, that v0 can no longer be pinned.
  const lost = details.getByTestId('nbrepro-section-data').getByTestId('nbrepro-pin-lost');
  await expect(lost).toHaveAttribute('data-reason', 'files_missing');
  await expect(lost).toContainText('v0 can no longer be read');
  await details.getByTestId('nbrepro-section-data').screenshot({
    path: path.join(IMAGES, 'data-vacuumed.png')
  });

  // Re-executed pinned anyway: said in the sidebar's words, with the button to go on.
  await details.getByTestId('nbrepro-rerun-button').click();
  const error = details.getByTestId('nbrepro-job-error');
  await expect(error).toHaveAttribute('data-reason', 'pinned-data-unavailable', {
    timeout: 120000
  });
  await expect(error).not.toContainText('--data');
  await expect(details.getByTestId('nbrepro-log')).toHaveCount(0);
  await error.screenshot({ path: path.join(IMAGES, 'pin-lost.png') });
  await page.theme.setDarkTheme();
  await error.screenshot({ path: path.join(IMAGES, 'pin-lost-dark.png') });
  await page.theme.setLightTheme();
  await error.getByTestId('nbrepro-rerun-latest-button').click();
  const verdict = details.getByTestId('nbrepro-report-verdict');
  await expect(verdict).toHaveAttribute('data-verdict', 'differs', { timeout: 180000 });

  // The report says what moved between the versions, from the Delta log.
  const data = sidebar.locator('[data-testid="nbrepro-report-section"][data-section="data"]');
  const summary = data.getByTestId('nbrepro-delta-log-summary');
  await expect(summary).toContainText('v0 → v4');
  await expect(summary).toContainText('WRITE append');
  await expect(summary).toContainText('DELETE');
  await data.getByTestId('nbrepro-delta-log-commits').locator('summary').click();
  await expect(
    data.locator('[data-testid="nbrepro-delta-log-commit"][data-operation="DELETE"]')
  ).toHaveAttribute('data-version', '2');
  await data.screenshot({ path: path.join(IMAGES, 'report-data.png') });
  await page.theme.setDarkTheme();
  await data.screenshot({ path: path.join(IMAGES, 'report-data-dark.png') });
  await page.theme.setLightTheme();
});
