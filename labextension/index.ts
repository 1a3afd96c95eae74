/**
 * nbrepro's JupyterLab extension: a left sidebar listing the captured runs of the
 * notebook in focus, re-executing them and showing whether they reproduced.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { addCommands, CommandIDs } from './commands';
import { ReproModel } from './model';
import { readSettings } from './settings';
import { copyContext } from './copies';
import { CopyBanner } from './widgets/CopyBanner';
import { ReproSidebar } from './widgets/ReproSidebar';

const PLUGIN_ID = 'nbrepro:plugin';
/** A cell that captures a run: `%%repro ...` or `%repro` (not `%repro status|sync`). */
const CAPTURE_MAGIC = /^\s*(%%repro\b|%repro(?!\s+(status|sync)\b))/m;

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Sidebar for nbrepro: captured runs, re-execution pinned to Delta versions, verdicts.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ISettingRegistry, ICommandPalette, ILayoutRestorer, IDocumentManager],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    docManager: IDocumentManager | null
  ) => {
    const model = new ReproModel();

    const capture = async () => {
      const panel = tracker.currentWidget;
      await model.captureNotebook(panel ? () => panel.context.save() : undefined);
    };
    const sidebar = new ReproSidebar(model, {
      capture: () => void capture(),
      // The server writes the run's notebook under its root; the document manager opens
      // it without starting a kernel (a copy is for reading; the user picks one to run it).
      openPath: async (path: string) =>
        docManager
          ? docManager.openOrReveal(path, undefined, undefined, undefined, { shouldStart: false })
          : app.commands.execute('docmanager:open', { path })
    });
    app.shell.add(sidebar, 'left', { rank: 650 });
    restorer?.add(sidebar, 'nbrepro-sidebar');
    // The list stays live while it is shown (a rerun from the card, a verdict written).
    model.watch(() => sidebar.isVisible && document.visibilityState === 'visible');

    addCommands(
      {
        app,
        model,
        sidebarId: sidebar.id,
        capture,
        hasNotebook: () => tracker.currentWidget !== null
      },
      palette
    );

    // The card's "full report" link (a widget's HTML in a cell output) opens the run here.
    document.addEventListener('click', event => {
      const link = (event.target as Element | null)?.closest?.('[data-nbrepro-show-run]');
      const runId = link?.getAttribute('data-nbrepro-show-run');
      if (runId) {
        event.preventDefault();
        void app.commands.execute(CommandIDs.showRun, { runId });
      }
    });

    // Follow the notebook in focus, and its renames. A run's copy (its metadata names the
    // run) shows that run's details: the copy is not a notebook with runs of its own.
    const copyOf = (panel: NotebookPanel) =>
      panel.context.isReady ? copyContext(panel.model?.getMetadata('nbrepro')) : null;
    const follow = (panel: NotebookPanel | null) => {
      model.setNotebook(panel?.context.path ?? null);
      const copy = panel ? copyOf(panel) : null;
      if (copy && model.connection.status === 'ok' && model.selectedRunId !== copy.run_id) {
        void model.select(copy.run_id);
      }
    };
    tracker.currentChanged.connect((_, panel) => follow(panel));
    tracker.widgetAdded.connect((_, panel) => {
      panel.context.pathChanged.connect(() => {
        if (tracker.currentWidget === panel) {
          follow(panel);
        }
      });
      void panel.context.ready.then(() => {
        const copy = copyOf(panel);
        if (!copy) {
          return;
        }
        panel.contentHeader.addWidget(
          new CopyBanner(copy, runId => void app.commands.execute(CommandIDs.showRun, { runId }))
        );
        if (tracker.currentWidget === panel) {
          follow(panel);
        }
      });
    });

    const settingsLoaded = settingRegistry
      ? settingRegistry
          .load(PLUGIN_ID)
          .then(settings => {
            model.updateSettings(readSettings(settings.composite));
            settings.changed.connect(() => model.updateSettings(readSettings(settings.composite)));
          })
          .catch(reason => {
            console.error('nbrepro: could not load the settings; using the defaults.', reason);
          })
      : Promise.resolve();

    // A %%repro (or %repro) cell that ran in the notebook in focus captured a run: show it.
    NotebookActions.executed.connect((_, { notebook, cell }) => {
      if (
        tracker.currentWidget?.content === notebook &&
        cell.model.type === 'code' &&
        CAPTURE_MAGIC.test(cell.model.sharedModel.getSource())
      ) {
        void model.captured();
      }
    });

    // Not the tracker's `restored`: Notebook 7 restores no notebook layout, and it never
    // resolves there. Later changes of the notebook in focus are followed above.
    void Promise.all([app.restored, settingsLoaded]).then(() => {
      follow(tracker.currentWidget);
      return model.start();
    });
  }
};

export default plugin;
