// The inbox view (uses window.VW from app.js).
"use strict";
(() => {
VW.view("inbox", {
  available: false,
  async show() { VW.status("Not built yet."); },
});
})();
