// The portfolio view (uses window.VW from app.js).
"use strict";
(() => {
VW.view("portfolio", {
  available: false,
  async show() { VW.status("Not built yet."); },
});
})();
