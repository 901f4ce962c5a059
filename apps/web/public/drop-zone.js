// A drop zone for a file input: highlighted while a file is dragged over it; a dropped file
// becomes the input's file and `onFiles` runs, as after choosing one.
export function wireDropZone(drop, input, onFiles) {
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    if (event.dataTransfer.files.length > 0) {
      input.files = event.dataTransfer.files;
      onFiles();
    }
  });
}
