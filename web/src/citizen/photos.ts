// Photos made small on the phone before they go up: a phone's camera takes 3 to 12 MB, which is
// minutes on 3G; 2000 px on the longest side, as JPEG, keeps a KK or a letter legible in about
// half a megabyte.
const LONGEST_SIDE = 2000;
const QUALITY = 0.85;
// A JPEG already this small is sent as it is: encoding it again would only lose detail.
const SMALL_ENOUGH = 1024 * 1024;

/** Whether the file is a picture (by its type, or its name when the phone gives no type). */
export function isPhoto(file: File): boolean {
  return file.type.startsWith("image/") || /\.(jpe?g|png|heic|heif|webp)$/i.test(file.name);
}

/** The photo as a JPEG of at most LONGEST_SIDE pixels, upright; the file itself when it is
 * small already, or when this browser cannot draw it (an iPhone's HEIC on Android, say: the
 * mall converts it). */
export async function shrinkPhoto(file: File): Promise<File> {
  let picture: Awaited<ReturnType<typeof decode>>;
  try {
    picture = await decode(file);
  } catch {
    return file;
  }
  try {
    const scale = Math.min(1, LONGEST_SIDE / Math.max(picture.width, picture.height));
    if (scale === 1 && file.type === "image/jpeg" && file.size <= SMALL_ENOUGH) return file;
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(picture.width * scale));
    canvas.height = Math.max(1, Math.round(picture.height * scale));
    const context = canvas.getContext("2d");
    if (!context) return file;
    context.fillStyle = "#fff"; // a transparent PNG shows as paper, not black
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.imageSmoothingQuality = "high";
    picture.draw(context, canvas.width, canvas.height);
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, "image/jpeg", QUALITY));
    canvas.width = canvas.height = 0; // frees the pixels at once on phones short of memory
    if (!blob || (blob.size >= file.size && file.type === "image/jpeg")) return file;
    return new File([blob], `${file.name.replace(/\.[^.]*$/, "") || "foto"}.jpg`, { type: "image/jpeg" });
  } finally {
    picture.close();
  }
}

/** The picture decoded, turned upright by its EXIF orientation (both ways do that). */
async function decode(file: File) {
  if ("createImageBitmap" in window) {
    const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    return { width: bitmap.width, height: bitmap.height, draw: (c: CanvasRenderingContext2D, w: number, h: number) => c.drawImage(bitmap, 0, 0, w, h), close: () => bitmap.close() };
  }
  const url = URL.createObjectURL(file);
  const image = new Image();
  image.src = url;
  try {
    await image.decode();
  } catch (failure) {
    URL.revokeObjectURL(url);
    throw failure;
  }
  return { width: image.naturalWidth, height: image.naturalHeight, draw: (c: CanvasRenderingContext2D, w: number, h: number) => c.drawImage(image, 0, 0, w, h), close: () => URL.revokeObjectURL(url) };
}
