export { MediaError } from './media-error.js';
export { parseNpy, npyToFloat32, type NpyArray, type NpyDtype } from './npy.js';
