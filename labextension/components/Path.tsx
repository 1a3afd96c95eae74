import * as React from 'react';

import { homeRelative } from './format';

/** The server's home folder, for paths shown as "~/..." ('' when unknown). */
export const HomeContext = React.createContext('');

/**
 * A path or URI that wraps at its separators ("s3://lake/<wbr>sales/<wbr>orders"), not in
 * the middle of a name; under the server's home folder as "~/..."; the whole of it on hover.
 */
export function Path({ text, className }: { text: string; className?: string }): JSX.Element {
  const home = React.useContext(HomeContext);
  const parts = homeRelative(text, home).split(/(?<=[/\\])/);
  return (
    <span className={className} title={text}>
      {parts.map((part, i) => (
        <React.Fragment key={i}>
          {part}
          {i < parts.length - 1 && <wbr />}
        </React.Fragment>
      ))}
    </span>
  );
}
