// Builds the editor into documents/static/editor/ with stable names, so the
// bundle is part of the documents app: Django's app-directories finder serves it,
// the wheel ships it, and templates refer to {% static 'editor/editor.js' %}
// and {% static 'editor/editor.css' %}, and the document list to
// {% static 'editor/list.js' %}. Only that folder is emptied on a build
// (documents/static/documents/ holds hand-written files).
import { defineConfig } from 'vite'

export default defineConfig({
  publicDir: false,
  build: {
    outDir: '../documents/static/editor',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    modulePreload: false,
    // ProseMirror, Yjs and Tiptap make one ~500 kB module (160 kB gzipped).
    chunkSizeWarningLimit: 800,
    rolldownOptions: {
      input: {
        editor: 'src/main.js',
        list: 'src/list.js',
        notifications: 'src/comments/notifications-entry.js',
      },
      output: {
        entryFileNames: '[name].js',
        chunkFileNames: '[name].js',
        assetFileNames: '[name][extname]',
      },
    },
  },
})
