# Copyright 2026 cinder-zol developers
#
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""Copy images into and out of zvols without a local iSCSI initiator.

Cinder's generic path attaches the volume on the cinder-volume host, which
needs a kernel initiator there. Instead the image is converted to raw in a
temporary file with Cinder's own image helpers (qemu-img on this side), and
the bytes travel through the SSH channel to the wrapper's ``zvol-write`` /
from its ``zvol-read``, which only accept zvols under the parent dataset.
"""

from oslo_log import log as logging

from cinder.image import image_utils
from cinder.volume import volume_utils

LOG = logging.getLogger(__name__)


def image_to_zvol(executor, dataset, context, image_service, image_id,
                  size_gb, blocksize):
    """Fetch ``image_id``, convert it to raw, stream it into ``dataset``."""
    with image_utils.temporary_file(prefix='zol-image-') as tmp:
        image_utils.fetch_to_raw(context, image_service, image_id, tmp,
                                 blocksize, size=size_gb, run_as_root=False)
        with open(tmp, 'rb') as src:
            executor.stream_to(['zvol-write', dataset], src)
    LOG.debug('Image %(image)s written to %(ds)s.',
              {'image': image_id, 'ds': dataset})


def zvol_to_image(executor, dataset, context, image_service, image_meta,
                  volume):
    """Stream ``dataset`` into a temporary file and upload it as an image."""
    with image_utils.temporary_file(prefix='zol-upload-') as tmp:
        with open(tmp, 'wb') as dst:
            executor.stream_from(['zvol-read', dataset], dst)
        volume_utils.upload_volume(context, image_service, image_meta, tmp,
                                   volume, run_as_root=False)
    LOG.debug('Volume %(vol)s uploaded as image %(image)s.',
              {'vol': volume.id, 'image': image_meta.get('id')})
