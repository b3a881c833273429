// Builds the editor into dist/editor/ with stable names: Django's staticfiles
// serves dist/ (see STATICFILES_DIRS) and templates refer to
// {% static 'editor/editor.js' %} and {% static 'editor/editor.css' %}.
import { defineConfig } from 'vite'

export default defineConfig({
  publicDir: false,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    modulePreload: false,
    // ProseMirror, Yjs and Tiptap make one ~500 kB module (160 kB gzipped).
    chunkSizeWarningLimit: 800,
    rolldownOptions: {
      input: { editor: 'src/main.js' },
      output: {
        entryFileNames: 'editor/[name].js',
        chunkFileNames: 'editor/[name].js',
        assetFileNames: 'editor/[name][extname]',
      },
    },
  },
})
