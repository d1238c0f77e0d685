/**
 * FakeRuntime's image store: which images are present locally and which can only be pulled,
 * keyed by normalized ref, with ids derived from the ref (or the build context). Pulling an
 * unknown image fails the way Docker's does. It never contacts a registry.
 */
import { createHash } from "node:crypto";
import { RuntimeError, RuntimeErrorKind, type ImageInfo } from "./runtime.ts";

const sha = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");

/** "busybox" and "busybox:latest" are the same image. */
export function normalizeRef(ref: string): string {
  if (ref.includes("@") || ref.lastIndexOf(":") > ref.lastIndexOf("/")) return ref;
  return `${ref}:latest`;
}

export class FakeImages {
  private readonly images = new Map<string, { info: ImageInfo; present: boolean }>();

  /** Makes an image known: present locally, or (`present: false`) only pullable. */
  add(ref: string, info: Partial<ImageInfo>, present: boolean): void {
    const key = normalizeRef(ref);
    this.images.set(key, { info: { id: `sha256:${sha(key)}`, repoDigests: [], ...info }, present });
  }

  /** A present image as `tag`, its id derived from the build context. */
  build(contextTar: Buffer, tag: string): void {
    this.add(tag, { id: `sha256:${sha(contextTar)}` }, true);
  }

  /** A copy of a locally present image's info, found by ref or by id. */
  inspect(ref: string): ImageInfo | undefined {
    const image = this.images.get(normalizeRef(ref)) ?? [...this.images.values()].find((i) => i.info.id === ref);
    return image?.present === true ? structuredClone(image.info) : undefined;
  }

  /** The locally present image named `ref` (by ref only, as container create looks it up). */
  local(ref: string): ImageInfo | undefined {
    const image = this.images.get(normalizeRef(ref));
    return image?.present === true ? image.info : undefined;
  }

  /** The image named `ref`, present or only pullable. */
  known(ref: string): ImageInfo | undefined {
    return this.images.get(normalizeRef(ref))?.info;
  }

  /** Makes a known image present; fails with PullFailed, in Docker's words, for an unknown one. */
  pull(ref: string): void {
    const image = this.images.get(normalizeRef(ref));
    if (image === undefined) {
      const repo = ref.replace(/[:@][^/]*$/, "");
      throw new RuntimeError(
        RuntimeErrorKind.PullFailed,
        `pull ${ref}: pull access denied for ${repo}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`,
        404,
      );
    }
    image.present = true;
  }
}
