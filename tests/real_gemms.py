"""GEMMs (M, N, K) of layers of real networks, for checking the cost model against SCALE-Sim."""

# name: (M, N, K) with M = output pixels, N = output channels, K = kh * kw * cin (CIFAR-sized inputs)
REAL_GEMMS = {
    # ResNet-20 (CIFAR-10)
    "resnet20_conv1": (1024, 16, 27),
    "resnet20_l1_3x3": (1024, 16, 144),
    "resnet20_l2_down": (256, 32, 144),
    "resnet20_l2_3x3": (256, 32, 288),
    "resnet20_l2_short": (256, 32, 16),
    "resnet20_l3_down": (64, 64, 288),
    "resnet20_l3_3x3": (64, 64, 576),
    "resnet20_l3_short": (64, 64, 32),
    "resnet20_fc": (1, 10, 64),
    # MobileNetV2 (CIFAR-100)
    "mbv2_b1_project": (1024, 16, 32),
    "mbv2_b1_dw3x3": (1024, 1, 9),
    "mbv2_b2_expand": (1024, 96, 16),
    "mbv2_b2_dw3x3": (256, 1, 9),
    "mbv2_b2_project": (256, 24, 96),
    "mbv2_b3_expand": (256, 144, 24),
    "mbv2_b3_dw3x3": (64, 1, 9),
    "mbv2_b4_project": (64, 32, 144),
    "mbv2_b5_expand": (64, 192, 32),
    "mbv2_b5_project": (64, 32, 192),
    "mbv2_b6_project": (16, 64, 192),
    "mbv2_b7_expand": (16, 384, 64),
    "mbv2_last_1x1": (16, 1280, 320),
    "mbv2_fc": (1, 100, 1280),
    "mbv2_dw5x5": (64, 1, 25),
    # VGG-16 (CIFAR-10)
    "vgg16_conv1_1": (1024, 64, 27),
    "vgg16_conv1_2": (1024, 64, 576),
    "vgg16_conv2_1": (256, 128, 576),
    "vgg16_conv3_1": (64, 256, 1152),
    "vgg16_fc1": (1, 512, 512),
    # ResNet-18 (ImageNet) late layers
    "resnet18_l4_short": (49, 512, 256),
    "resnet18_fc": (1, 1000, 512),
}
