/// <reference types="vitest/config" />
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * The web UI, built into web/dist and served by `trove server` at `/`. In development,
 * `npx vite --config web/vite.config.ts` proxies the API to a server on TROVE_URL (default :5000).
 */
export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      '/ajax-api': process.env.TROVE_URL ?? 'http://127.0.0.1:5000',
      '/api': process.env.TROVE_URL ?? 'http://127.0.0.1:5000',
      // API calls of a project's pages (/projects/<name>/ajax-api/...); its pages stay with Vite.
      '^/projects/[^/]+/(ajax-api|api)/': process.env.TROVE_URL ?? 'http://127.0.0.1:5000',
    },
  },
  test: {
    root,
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
