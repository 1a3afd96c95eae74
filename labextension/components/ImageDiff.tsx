import * as React from 'react';

import type { CellImage, CellImages, CellImagesPair } from '../api-types';
import { diffSummary, pixelDiff, sizesText } from './pixelDiff';

/** Fetches the images of a report's cells (ReproModel.cellImages). */
export type ImagesSource = (
  original: string,
  rerun: string,
  cells: number[]
) => Promise<CellImages>;

/** A data: URL an <img> shows (an SVG in an <img> runs no script). */
function imageUrl(image: CellImage): string | null {
  if (image.data === null) {
    return null;
  }
  return image.mime === 'image/svg+xml'
    ? `data:image/svg+xml;charset=utf-8,${encodeURIComponent(image.data)}`
    : `data:${image.mime};base64,${image.data}`;
}

/** The images of a report's cells, fetched once for all of them; by cell key. */
export function useCellImages(
  source: ImagesSource | undefined,
  original: string,
  rerun: string,
  cells: number[]
): { value: CellImages | null; problem: string | null } {
  // Each answer is kept with the request it answers: another report (a new job, another
  // pair compared) shows nothing of the last one's images while its own load.
  const [state, setState] = React.useState<{
    key: string;
    value: CellImages | null;
    problem: string | null;
  }>({ key: '', value: null, problem: null });
  const key = `${original}|${rerun}|${cells.join(',')}`;
  React.useEffect(() => {
    if (!source || cells.length === 0) {
      return;
    }
    let live = true;
    source(original, rerun, cells).then(
      value => live && setState({ key, value, problem: null }),
      (error: unknown) =>
        live &&
        setState({
          key,
          value: null,
          problem: error instanceof Error ? error.message : String(error)
        })
    );
    return () => {
      live = false;
    };
  }, [source, key]);
  return state.key === key
    ? { value: state.value, problem: state.problem }
    : { value: null, problem: null };
}

/** One cell's images: each pair side by side, then their pixel diff. */
export function CellImagesView({ pair }: { pair: CellImagesPair }): JSX.Element {
  const count = Math.max(pair.original.length, pair.rerun.length);
  return (
    <div className="nbrepro-images" data-testid="nbrepro-images" data-cell={pair.cell}>
      {Array.from({ length: count }, (_, i) => (
        <ImagePair key={i} original={pair.original[i] ?? null} rerun={pair.rerun[i] ?? null} />
      ))}
    </div>
  );
}

function ImagePair({
  original,
  rerun
}: {
  original: CellImage | null;
  rerun: CellImage | null;
}): JSX.Element {
  const left = original && imageUrl(original);
  const right = rerun && imageUrl(rerun);
  const pixels = original?.mime !== 'image/svg+xml' && rerun?.mime !== 'image/svg+xml';
  return (
    <div className="nbrepro-image-pair" data-testid="nbrepro-image-pair">
      <div className="nbrepro-image-sides">
        <Side title="original" image={original} url={left} testId="nbrepro-image-original" />
        <Side title="rerun" image={rerun} url={right} testId="nbrepro-image-rerun" />
      </div>
      {left && right && pixels && <PixelDiffView left={left} right={right} />}
      {left && right && !pixels && (
        <div className="nbrepro-image-note">SVG: compared side by side, no pixel diff.</div>
      )}
    </div>
  );
}

function Side({
  title,
  image,
  url,
  testId
}: {
  title: string;
  image: CellImage | null;
  url: string | null;
  testId: string;
}): JSX.Element {
  return (
    <figure className="nbrepro-image-side" data-testid={testId}>
      <figcaption>{title}</figcaption>
      {url ? (
        <img src={url} alt={`${title}'s image`} />
      ) : (
        <div className="nbrepro-image-note">
          {image === null
            ? `no image here in the ${title}`
            : 'not loaded: too large to show with the others'}
        </div>
      )}
    </figure>
  );
}

/** Decoded pixels of an image URL, through a canvas. */
async function decode(url: string): Promise<ImageData> {
  const img = new Image();
  img.src = url;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const context = canvas.getContext('2d');
  if (!context) {
    throw new Error('no 2D canvas');
  }
  context.drawImage(img, 0, 0);
  return context.getImageData(0, 0, canvas.width, canvas.height);
}

/** The pixel diff: differing pixels highlighted over the faded original, and how many. */
function PixelDiffView({ left, right }: { left: string; right: string }): JSX.Element {
  const canvas = React.useRef<HTMLCanvasElement>(null);
  const [text, setText] = React.useState('comparing pixels…');
  const [drawn, setDrawn] = React.useState(false);
  React.useEffect(() => {
    let live = true;
    setDrawn(false); // other images: nothing of the last diff stays
    setText('comparing pixels…');
    Promise.all([decode(left), decode(right)]).then(
      ([a, b]) => {
        if (!live) {
          return;
        }
        if (a.width !== b.width || a.height !== b.height) {
          setText(sizesText(a, b));
          return;
        }
        const diff = pixelDiff(a.data, b.data, a.width, a.height);
        if (!diff || !canvas.current) {
          return;
        }
        canvas.current.width = diff.width;
        canvas.current.height = diff.height;
        canvas.current
          .getContext('2d')
          ?.putImageData(new ImageData(diff.overlay, diff.width), 0, 0);
        setDrawn(true);
        setText(diffSummary(diff.differing, diff.total));
      },
      () => live && setText('the images could not be decoded for a pixel diff')
    );
    return () => {
      live = false;
    };
  }, [left, right]);
  return (
    <figure className="nbrepro-image-diff" data-testid="nbrepro-image-diff">
      <figcaption data-testid="nbrepro-image-diff-summary">{text}</figcaption>
      <canvas ref={canvas} hidden={!drawn} />
    </figure>
  );
}
