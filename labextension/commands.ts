/** The palette commands (category "nbrepro"). */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { ICommandPalette } from '@jupyterlab/apputils';

import type { ReproModel } from './model';

export namespace CommandIDs {
  export const openSidebar = 'nbrepro:open-sidebar';
  export const capture = 'nbrepro:capture-run';
  export const rerunSelected = 'nbrepro:rerun-selected';
  export const refresh = 'nbrepro:refresh-runs';
  export const compareSelected = 'nbrepro:compare-selected';
  export const showRun = 'nbrepro:show-run';
}

export interface CommandContext {
  app: JupyterFrontEnd;
  model: ReproModel;
  sidebarId: string;
  /** Save the notebook in focus, then capture it. */
  capture: () => Promise<void>;
  hasNotebook: () => boolean;
}

export function addCommands(ctx: CommandContext, palette: ICommandPalette | null): void {
  const { app, model, sidebarId } = ctx;
  const show = () => app.shell.activateById(sidebarId);
  const ready = () => model.connection.status === 'ok';

  app.commands.addCommand(CommandIDs.openSidebar, {
    label: 'Open nbrepro Sidebar',
    caption: "Show the notebook's captured runs",
    execute: show
  });
  app.commands.addCommand(CommandIDs.capture, {
    label: 'Capture Run',
    caption: 'Save the notebook, then record its kernel session as an MLflow run',
    isEnabled: () => ready() && ctx.hasNotebook(),
    execute: async () => {
      show();
      await ctx.capture();
    }
  });
  app.commands.addCommand(CommandIDs.rerunSelected, {
    label: 'Re-execute Selected Run',
    caption: 'Re-execute the selected run with the default options and compare',
    isEnabled: () => ready() && model.selectedRunId !== null,
    execute: async () => {
      const runId = model.selectedRunId;
      if (runId) {
        show();
        await model.rerun(runId);
      }
    }
  });
  app.commands.addCommand(CommandIDs.refresh, {
    label: 'Refresh Runs',
    execute: () => model.retry()
  });
  app.commands.addCommand(CommandIDs.compareSelected, {
    label: 'Compare Selected Runs',
    caption: 'Compare the two runs ticked in the sidebar',
    isEnabled: () => ready() && model.checked.length === 2,
    execute: async () => {
      show();
      await model.compareChecked();
    }
  });

  app.commands.addCommand(CommandIDs.showRun, {
    label: 'Show Run in nbrepro Sidebar',
    caption: "Show a run's details and its latest re-execution's report",
    execute: async args => {
      const runId = typeof args.runId === 'string' ? args.runId : null;
      show();
      if (runId) {
        await model.select(runId);
      }
    }
  });

  // Enablement follows the model (selection, ticks, connection).
  model.changed.connect(() => app.commands.notifyCommandChanged());

  if (palette) {
    // (showRun takes a run: the card's links call it, not the palette.)
    for (const command of Object.values(CommandIDs).filter(c => c !== CommandIDs.showRun)) {
      palette.addItem({ command, category: 'nbrepro' });
    }
  }
}
