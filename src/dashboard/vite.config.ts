// Builds the dashboard into dist/dashboard, whose files the server serves under /dashboard/.
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/dashboard/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: '../../dist/dashboard',
    emptyOutDir: true,
    target: 'es2022',
    // Modern browsers preload modules themselves.
    modulePreload: { polyfill: false },
  },
});
