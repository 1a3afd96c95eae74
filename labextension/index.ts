/**
 * nbrepro's JupyterLab extension: a left sidebar listing the captured runs of the
 * notebook in focus, re-executing them and showing whether they reproduced.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { addCommands } from './commands';
import { ReproModel } from './model';
import { readSettings } from './settings';
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
  optional: [ISettingRegistry, ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    const model = new ReproModel();

    const capture = async () => {
      const panel = tracker.currentWidget;
      await model.captureNotebook(panel ? () => panel.context.save() : undefined);
    };
    const sidebar = new ReproSidebar(model, {
      capture: () => void capture(),
      // The server writes the run's notebook under its root; the document manager opens it.
      openPath: (path: string) => app.commands.execute('docmanager:open', { path })
    });
    app.shell.add(sidebar, 'left', { rank: 650 });
    restorer?.add(sidebar, 'nbrepro-sidebar');

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

    // Follow the notebook in focus, and its renames.
    const follow = (panel: NotebookPanel | null) => model.setNotebook(panel?.context.path ?? null);
    tracker.currentChanged.connect((_, panel) => follow(panel));
    tracker.widgetAdded.connect((_, panel) => {
      panel.context.pathChanged.connect(() => {
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
