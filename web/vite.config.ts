// Three apps from one build, all served by the gateway: the citizen app at /, the officer
// workspace at /petugas/ and the command center at /ops/. Only the citizen app is installable and
// works offline; its service worker precaches its own files and nothing of the other two.
import { resolve } from "node:path";
import { defineConfig, type Plugin } from "vite";
import { VitePWA } from "vite-plugin-pwa";

const STAFF_APPS = ["petugas", "ops"];

/** The staff apps are not the installable citizen app: no manifest, no service worker. */
const staffPagesStayPlain: Plugin = {
  name: "mpp-staff-pages-plain",
  enforce: "post",
  generateBundle(_options, bundle) {
    for (const app of STAFF_APPS) {
      const page = bundle[`${app}/index.html`];
      if (page?.type === "asset" && typeof page.source === "string") {
        page.source = page.source.replace(/<link rel="manifest"[^>]*>/, "").replace(/<script id="vite-plugin-pwa:register-sw"[^>]*><\/script>/, "");
      }
    }
  },
};

export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  // `npx vite`: the apps with hot reload, the API from the gateway `make up` started.
  server: { proxy: { "/api": "http://127.0.0.1:8080" } },
  build: {
    outDir: "dist",
    target: "es2020",
    // Budget is checked by a browser test; this only warns while building.
    chunkSizeWarningLimit: 120,
    rollupOptions: {
      input: {
        citizen: resolve(import.meta.dirname, "index.html"),
        petugas: resolve(import.meta.dirname, "petugas/index.html"),
        ops: resolve(import.meta.dirname, "ops/index.html"),
      },
      output: {
        // Staff apps' entry files live under their own folder, so the citizen service worker
        // can leave them out of its precache.
        entryFileNames: (chunk) =>
          STAFF_APPS.includes(chunk.name) ? `${chunk.name}/assets/[name]-[hash].js` : "assets/[name]-[hash].js",
      },
    },
  },
  plugins: [
    staffPagesStayPlain,
    VitePWA({
      registerType: "autoUpdate",
      injectRegister: "script-defer",
      manifest: {
        name: "MPP Elektronik Kabupaten Sinjai",
        short_name: "MPP Sinjai",
        description: "Layanan publik Mal Pelayanan Publik dari ponsel Anda",
        lang: "id",
        start_url: "/",
        scope: "/",
        display: "standalone",
        background_color: "#ffffff",
        theme_color: "#0b5394",
        icons: [
          { src: "/icons/icon-192.png", sizes: "192x192", type: "image/png" },
          { src: "/icons/icon-512.png", sizes: "512x512", type: "image/png" },
          { src: "/icons/icon-maskable-512.png", sizes: "512x512", type: "image/png", purpose: "maskable" },
        ],
      },
      workbox: {
        globPatterns: ["index.html", "assets/*.{js,css}", "icons/icon-192.png"],
        globIgnores: ["petugas/**", "ops/**", "assets/petugas-*.css", "assets/ops-*.css", "assets/jsQR-*.js"],
        navigateFallback: "/index.html",
        navigateFallbackDenylist: [/^\/api\//, /^\/petugas/, /^\/ops/, /^\/docs/, /^\/health/],
        cleanupOutdatedCaches: true,
        // The catalog is public and changes rarely: answer from the network, or from the last
        // answer when offline, so a draft's form still opens without a connection.
        runtimeCaching: [
          {
            urlPattern: ({ url }) => url.pathname.startsWith("/api/v1/catalog/"),
            handler: "NetworkFirst",
            options: {
              cacheName: "catalog",
              networkTimeoutSeconds: 5,
              expiration: { maxEntries: 300, maxAgeSeconds: 7 * 24 * 3600 },
            },
          },
        ],
      },
    }),
  ],
});
