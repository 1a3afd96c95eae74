/**
 * The banner over a run's notebook copy (written by "Open captured notebook" or "Open
 * document as captured"): which run it is a copy of and when it was captured, and, for
 * the document, when it was saved (it may be older than what the kernel ran).
 */
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { bannerText, CopyContext } from '../copies';

/** The banner: the text, and a button showing the run in the sidebar. */
export class CopyBanner extends Widget {
  constructor(context: CopyContext, showRun: (runId: string) => void) {
    super();
    this.addClass('nbrepro-copy-banner');
    this.node.dataset.testid = 'nbrepro-copy-banner';
    this.node.dataset.which = context.which;
    const text = document.createElement('div');
    text.className = 'nbrepro-copy-banner-text';
    for (const sentence of bannerText(context)) {
      const line = document.createElement('div');
      line.textContent = sentence;
      text.appendChild(line);
    }
    const button = document.createElement('button');
    button.className = 'jp-Button jp-mod-styled jp-mod-reject nbrepro-copy-banner-show';
    button.textContent = 'Show run';
    button.title = 'Show the run in the nbrepro sidebar';
    button.onclick = () => showRun(context.run_id);
    this.node.append(text, button);
    this._text = text;
  }

  /** The notebook's content header is a box layout that sizes its children from their
   * minimum height: the banner asks for the height its text takes at this width. */
  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    requestAnimationFrame(() => this._fit());
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this._fit();
  }

  private _fit(): void {
    const style = getComputedStyle(this.node);
    const padding = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
    const border = parseFloat(style.borderTopWidth) + parseFloat(style.borderBottomWidth);
    const height = `${Math.ceil(this._text.scrollHeight + padding + border)}px`;
    if (this.node.style.minHeight !== height) {
      this.node.style.minHeight = height;
      this.parent?.fit();
    }
  }

  private _text: HTMLElement;
}
