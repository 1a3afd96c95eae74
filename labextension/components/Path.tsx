import * as React from 'react';

/**
 * A path or URI that wraps at its separators ("s3://lake/<wbr>sales/<wbr>orders"), not in
 * the middle of a name; the whole of it on hover.
 */
export function Path({ text, className }: { text: string; className?: string }): JSX.Element {
  const parts = text.split(/(?<=[/\\])/);
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
