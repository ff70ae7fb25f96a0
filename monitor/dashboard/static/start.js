// Runs last: every view has registered itself.
"use strict";
VW.start();
