// The alerts view (uses window.VW from app.js).
"use strict";
(() => {
VW.view("alerts", {
  available: false,
  async show() { VW.status("Not built yet."); },
});
})();
