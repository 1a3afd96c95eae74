import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';

import { Sidebar, SidebarActions } from '../components/Sidebar';
import { reproIcon } from '../icons';
import type { ReproModel } from '../model';

/** The left-area panel: renders the model again whenever it changes. */
export class ReproSidebar extends ReactWidget {
  constructor(
    readonly model: ReproModel,
    private readonly _actions: SidebarActions
  ) {
    super();
    this.id = 'nbrepro-sidebar';
    this.title.icon = reproIcon;
    this.title.caption = 'nbrepro: reproducible runs';
    this.addClass('nbrepro-sidebar-widget');
  }

  protected render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => <Sidebar model={this.model} actions={this._actions} />}
      </UseSignal>
    );
  }
}
