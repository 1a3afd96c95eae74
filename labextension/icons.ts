import { LabIcon } from '@jupyterlab/ui-components';

import reproSvg from '../style/icons/nbrepro.svg';

/** The sidebar's icon (also shown in the settings editor). */
export const reproIcon = new LabIcon({ name: 'nbrepro:icon', svgstr: reproSvg });
