'use strict';
// Intentionally empty: nothing in the interop tests reaches api-client's Cells code.
module.exports = {};
