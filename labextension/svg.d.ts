// The bundler loads an SVG imported from TypeScript as its source text.
declare module '*.svg' {
  const svgstr: string;
  export default svgstr;
}
