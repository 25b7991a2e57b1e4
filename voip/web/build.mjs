// Builds the page into static/: the app bundled by esbuild (its dependencies
// included, no CDN at run time), the worklet, HTML and CSS copied.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";

const out = new URL("./static/", import.meta.url).pathname;
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [new URL("./src/app.js", import.meta.url).pathname],
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  legalComments: "eof",
  outfile: `${out}app.js`,
  logLevel: "warning",
});
for (const f of ["index.html", "style.css", "worklet.js"]) {
  copyFileSync(new URL(`./src/${f}`, import.meta.url).pathname, `${out}${f}`);
}
